/**
 * Comparing two engines' logits position by position: top-1 agreement with
 * near-ties set aside (two correct engines may split there), and the size of
 * the differences. Used by the tests and scripts/compare-llamacpp.mjs.
 */
/** Index of the largest value (lowest index on ties, as llama.cpp's greedy). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Top-1 minus top-2. */
export function top1Gap(row: ArrayLike<number>): number {
  let a = -Infinity;
  let b = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) b = v;
  }
  return a - b;
}

export interface Agreement {
  readonly positions: number;
  /** Positions where the peer's own top-2 is within `tieGap` of its top-1: set aside. */
  readonly setAside: number;
  readonly agree: number;
  readonly rate: number;
  readonly meanAbsDiff: number;
  readonly maxAbsDiff: number;
  readonly disagreements: number[];
}

/** Teacher-forced top-1 agreement of `ours` with `peer`, row by row. */
export function agreement(ours: readonly ArrayLike<number>[], peer: readonly ArrayLike<number>[], tieGap: number): Agreement {
  if (ours.length !== peer.length) throw new Error(`${ours.length} rows vs ${peer.length}`);
  let setAside = 0;
  let agree = 0;
  let sum = 0;
  let n = 0;
  let max = 0;
  const disagreements: number[] = [];
  ours.forEach((o, p) => {
    const q = peer[p]!;
    for (let i = 0; i < q.length; i++) {
      const d = Math.abs(o[i]! - q[i]!);
      sum += d;
      n++;
      if (d > max) max = d;
    }
    if (top1Gap(q) < tieGap) {
      setAside++;
      return;
    }
    if (argmax(o) === argmax(q)) agree++;
    else disagreements.push(p);
  });
  const decided = ours.length - setAside;
  return { positions: ours.length, setAside, agree, rate: decided === 0 ? 0 : agree / decided, meanAbsDiff: sum / n, maxAbsDiff: max, disagreements };
}
