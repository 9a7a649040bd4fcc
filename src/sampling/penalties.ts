// Repetition, frequency and presence penalties, as llama.cpp's `penalties`
// sampler (src/llama-sampler.cpp, llama_sampler_penalties_apply). For each
// distinct token among the last `lastN` of the history, with `count` its
// number of occurrences there:
//   logit = logit <= 0 ? logit * repeat : logit / repeat
//   logit -= count * frequency + presence
// The whole sampler is off when lastN == 0 or (repeat == 1, frequency == 0,
// presence == 0), as llama.cpp's is_disabled().
//
// Only the recent tokens are touched: the logits are modified in place and
// the originals kept, so `restore` undoes it in O(lastN).

export interface PenaltyParams {
  lastN: number;
  repeat: number;
  frequency: number;
  presence: number;
}

export function penaltiesDisabled(p: PenaltyParams): boolean {
  return p.lastN === 0 || (p.repeat === 1 && p.frequency === 0 && p.presence === 0);
}

const f32 = Math.fround;

/** The penalized value of one logit, in float32 steps as llama.cpp computes it. */
export function penalizeLogit(logit: number, count: number, p: PenaltyParams): number {
  const l = logit <= 0 ? f32(logit * p.repeat) : f32(logit / p.repeat);
  return f32(l - f32(f32(count * p.frequency) + (count > 0 ? p.presence : 0)));
}

export class RepetitionPenalties {
  readonly params: Readonly<PenaltyParams>;
  readonly disabled: boolean;
  private readonly counts: Int32Array;
  private readonly touched: Int32Array;
  private readonly saved: Float32Array;
  private nTouched = 0;

  constructor(
    readonly nVocab: number,
    params: PenaltyParams,
  ) {
    this.params = { ...params };
    this.disabled = penaltiesDisabled(params);
    const cap = this.disabled ? 0 : Math.min(params.lastN, nVocab);
    this.counts = new Int32Array(this.disabled ? 0 : nVocab);
    this.touched = new Int32Array(cap);
    this.saved = new Float32Array(cap);
  }

  /**
   * Penalizes, in place, the logits of the distinct tokens among the last
   * `lastN` entries of `recent` and remembers their previous values for
   * {@link restore}. Returns how many logits changed. Throws RangeError for
   * a token id outside [0, nVocab) (nothing is modified then).
   */
  apply(logits: Float32Array, recent: ArrayLike<number>): number {
    this.nTouched = 0;
    if (this.disabled) return 0;
    const { counts, touched, saved, nVocab } = this;
    const start = Math.max(0, recent.length - this.params.lastN);
    let nt = 0;
    for (let i = start; i < recent.length; i++) {
      const id = recent[i]!;
      if (!(id >= 0 && id < nVocab && Number.isInteger(id))) {
        for (let j = 0; j < nt; j++) counts[touched[j]!] = 0;
        throw new RangeError(`token id ${id} in the recent tokens is outside the vocabulary [0, ${nVocab})`);
      }
      const c = counts[id]!;
      counts[id] = c + 1;
      if (c === 0) touched[nt++] = id;
    }
    for (let j = 0; j < nt; j++) {
      const id = touched[j]!;
      const count = counts[id]!;
      counts[id] = 0;
      const orig = logits[id]!;
      saved[j] = orig;
      logits[id] = penalizeLogit(orig, count, this.params);
    }
    this.nTouched = nt;
    return nt;
  }

  /** Puts back the logits changed by the last {@link apply}. */
  restore(logits: Float32Array): void {
    const { touched, saved } = this;
    for (let j = this.nTouched - 1; j >= 0; j--) logits[touched[j]!] = saved[j]!;
    this.nTouched = 0;
  }
}
