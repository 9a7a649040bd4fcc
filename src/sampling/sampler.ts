// The token sampler: llama.cpp's default chain (common/common.h,
// common_params_sampling::samplers, built in common/sampling.cpp
// common_sampler_init) restricted to the samplers ferrum exposes:
//
//   penalties → top-k → top-p → min-p → temperature → dist
//
// (DRY, top-n-sigma, typical-p and XTC sit between them in llama.cpp's
// chain but are disabled by its defaults.) Top-p and min-p therefore see
// temperature-1 probabilities of the candidates that survived top-k, and
// temperature only reshapes the final draw. temperature <= 0 makes
// llama.cpp's temperature sampler keep only the largest logit, so the
// result is the argmax of the penalized logits (ties → lowest id).
//
// Every sample() consumes exactly one draw of the seeded PRNG (llama.cpp's
// dist sampler also draws even when one candidate is left), so the stream
// stays aligned whatever the parameters.

import { pickIndex, weightsOfAll, weightsOfIds } from './dist.js';
import { isRandomSeed, validateSamplingParams, type SamplingParams } from './params.js';
import { RepetitionPenalties } from './penalties.js';
import { Rng, randomSeed } from './rng.js';
import {
  FullVocabScratch,
  argmax,
  maxLogit,
  minPFilter,
  minPFull,
  minPSorted,
  topKSelect,
  topPSorted,
} from './truncation.js';

export class Sampler {
  /** The seed actually used (a random one when params.seed asked for it). */
  readonly seed: number;
  readonly params: Readonly<SamplingParams>;
  private readonly rng: Rng;
  private readonly penalties: RepetitionPenalties;
  /** top-k in effect: 0 when off or when it keeps the whole vocabulary. */
  private readonly k: number;
  private readonly greedyOnly: boolean;
  private readonly invTemp: number;
  // top-p / min-p / temperature as the float32 values llama.cpp holds them in.
  private readonly topP: number;
  private readonly minP: number;
  private ids: Int32Array;
  private probs: Float64Array;
  private full: FullVocabScratch | undefined;

  /**
   * @param params validated with validateSamplingParams (RangeError otherwise)
   * @param nVocab number of logits per token
   */
  constructor(
    params: SamplingParams,
    readonly nVocab: number,
  ) {
    const err = validateSamplingParams(params);
    if (err !== undefined) throw new RangeError(err);
    if (!Number.isInteger(nVocab) || nVocab <= 0) throw new RangeError(`nVocab must be a positive integer, got ${nVocab}`);
    this.params = Object.freeze({ ...params });
    this.seed = isRandomSeed(params.seed) ? randomSeed() : params.seed! >>> 0;
    this.rng = new Rng(this.seed);
    this.penalties = new RepetitionPenalties(nVocab, {
      lastN: params.repeatLastN,
      repeat: params.repeatPenalty,
      frequency: params.frequencyPenalty,
      presence: params.presencePenalty,
    });
    this.k = params.topK > 0 && params.topK < nVocab ? params.topK : 0;
    this.greedyOnly = params.temperature <= 0 || params.topK === 1;
    this.invTemp = params.temperature > 0 ? 1 / Math.fround(params.temperature) : 0;
    this.topP = Math.fround(params.topP);
    this.minP = Math.fround(params.minP);
    const cap = this.k > 0 ? this.k : 0;
    this.ids = new Int32Array(cap);
    this.probs = new Float64Array(cap);
  }

  /**
   * The chain in effect, for --verbose, in the spirit of llama.cpp's
   * "sampler chain: logits -> ..." line; stages that are off are left out.
   */
  describe(): string {
    const p = this.params;
    const f = (v: number): string => v.toFixed(3);
    const stages = ['logits'];
    if (!this.penalties.disabled) {
      stages.push(
        `penalties(last_n=${p.repeatLastN}, repeat=${f(p.repeatPenalty)}, freq=${f(p.frequencyPenalty)}, present=${f(p.presencePenalty)})`,
      );
    }
    if (p.temperature <= 0) return [...stages, 'greedy'].join(' -> ');
    if (p.topK > 0) stages.push(`top-k(${p.topK})`);
    if (p.topP < 1) stages.push(`top-p(${f(p.topP)})`);
    if (p.minP > 0) stages.push(`min-p(${f(p.minP)})`);
    stages.push(`temp(${f(p.temperature)})`, `dist(seed=${this.seed})`);
    return stages.join(' -> ');
  }

  /**
   * Picks the next token. `logits` holds at least nVocab entries (only the
   * first nVocab are used) and is unchanged on return; `recent` is the token
   * history (prompt included, as llama-cli feeds it to its sampler), of
   * which the last repeatLastN are penalized.
   */
  sample(logits: Float32Array, recent: ArrayLike<number>): number {
    const n = this.nVocab;
    if (logits.length < n) throw new RangeError(`expected ${n} logits, got ${logits.length}`);
    const u = this.rng.nextFloat();
    const touched = this.penalties.apply(logits, recent);
    try {
      return this.pick(logits, n, u);
    } finally {
      if (touched > 0) this.penalties.restore(logits);
    }
  }

  private pick(logits: Float32Array, n: number, u: number): number {
    if (this.greedyOnly) return argmax(logits, n);
    const { topP, minP } = this;
    let ids: Int32Array;
    let m: number;
    let max: number;
    if (this.k > 0) {
      ids = this.ids;
      m = topKSelect(logits, n, this.k, ids);
      max = logits[ids[0]!]!;
      m = topPSorted(logits, ids, m, topP, this.probs);
      m = minPSorted(logits, ids, m, minP);
    } else {
      max = maxLogit(logits, n);
      if (!(max > -Infinity) || max === Infinity) return argmax(logits, n);
      if (topP >= 1 && minP <= 0) return this.drawFull(logits, n, max, u);
      ids = this.fullIds();
      if (topP < 1) {
        m = this.fullScratch().topP(logits, n, max, topP, ids);
        m = minPFilter(logits, ids, m, max, minP);
      } else {
        m = minPFull(logits, n, max, minP, ids);
      }
    }
    const tok = this.drawList(logits, ids, m, max, u);
    return tok >= 0 ? tok : argmax(logits, n);
  }

  /** Draw among ids[0..m) with weights exp((l - max) / T); -1 when none has weight. */
  private drawList(logits: Float32Array, ids: Int32Array, m: number, max: number, u: number): number {
    if (m === 1) return ids[0]!;
    if (this.probs.length < m) this.probs = new Float64Array(Math.max(m, this.nVocab));
    const z = weightsOfIds(logits, ids, m, max, this.invTemp, this.probs);
    if (!(z > 0)) return m > 0 ? ids[0]! : -1;
    const j = pickIndex(this.probs, m, u * z);
    return j >= 0 ? ids[j]! : ids[0]!;
  }

  /** Draw over the whole vocabulary (no truncation at all). */
  private drawFull(logits: Float32Array, n: number, max: number, u: number): number {
    if (this.probs.length < n) this.probs = new Float64Array(n);
    const w = this.probs;
    const z = weightsOfAll(logits, n, max, this.invTemp, w);
    const i = z > 0 ? pickIndex(w, n, u * z) : -1;
    return i >= 0 ? i : argmax(logits, n);
  }

  private fullIds(): Int32Array {
    if (this.ids.length < this.nVocab) this.ids = new Int32Array(this.nVocab);
    return this.ids;
  }

  private fullScratch(): FullVocabScratch {
    this.full ??= new FullVocabScratch(this.nVocab);
    return this.full;
  }
}
