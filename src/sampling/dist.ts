// The final draw (llama.cpp's `dist` sampler): weights exp((l - max) / T)
// over the candidates, then the first candidate whose running sum exceeds
// u · Z for a uniform u in [0, 1). Each loop is its own small function so
// V8 optimizes it alone (see truncation.ts).

import { expNeg } from './fastexp.js';

/** w[j] = exp((logits[ids[j]] - max) · invT) for j < m; returns their sum. */
export function weightsOfIds(
  logits: Float32Array,
  ids: Int32Array,
  m: number,
  max: number,
  invT: number,
  w: Float64Array,
): number {
  let z = 0;
  for (let j = 0; j < m; j++) {
    const e = expNeg((logits[ids[j]!]! - max) * invT);
    w[j] = e;
    z += e;
  }
  return z;
}

/** w[i] = exp((logits[i] - max) · invT) for i < n; returns their sum. */
export function weightsOfAll(logits: Float32Array, n: number, max: number, invT: number, w: Float64Array): number {
  let z = 0;
  for (let i = 0; i < n; i++) {
    const e = expNeg((logits[i]! - max) * invT);
    w[i] = e;
    z += e;
  }
  return z;
}

/**
 * The first j < m whose running sum of w exceeds target; if rounding leaves
 * none, the last j with w[j] > 0; -1 when all weights are 0.
 */
export function pickIndex(w: Float64Array, m: number, target: number): number {
  let cum = 0;
  let last = -1;
  for (let j = 0; j < m; j++) {
    const e = w[j]!;
    if (e > 0) {
      cum += e;
      last = j;
      if (cum > target) return j;
    }
  }
  return last;
}

// Type feedback for every branch before V8 optimizes (see truncation.ts).
(function warmUp(): void {
  const logits = Float32Array.of(0, -1, -200, -2, -Infinity, -0.5);
  const ids = Int32Array.of(0, 1, 2, 3, 4, 5);
  const w = new Float64Array(6);
  for (const u of [0, 0.5, 0.999999]) {
    pickIndex(w, 6, u * weightsOfIds(logits, ids, 6, 0, 1, w));
    pickIndex(w, 6, u * weightsOfAll(logits, 6, 0, 2, w));
  }
})();
