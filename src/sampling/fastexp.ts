// exp(x) for x <= 0, the only case softmax needs once the maximum is
// subtracted. V8's Math.exp costs ~10-20 ns; a full-vocabulary softmax
// (152k entries) spends milliseconds in it. This is the classic
// table-plus-polynomial reduction: x = -(k/64)·ln2 + r with |r| <= ln2/128,
// exp(x) = 2^(-k/64) · P(r), with 2^(-k/64) read from a table covering the
// whole float32 range (x > -87.5, 8192 entries). Relative error is below
// 1e-13, far under float32 logit precision. (Math.floor instead of `| 0`
// for the rounding made it twice as slow.)

const N = 64;
const INV_STEP = N / Math.LN2;
const STEP = Math.LN2 / N;

/** Below this exp(x) underflows float32 (expf is 0 under ~-103, subnormal under -87.3). */
const CUTOFF = -87.5;
// (Read inside expNeg through a plain module const: an exported binding is a
// module cell that V8 re-loads and checks on every call, 2x slower here.)
export const EXP_NEG_CUTOFF = CUTOFF;

const POW2 = new Float64Array(Math.ceil(-CUTOFF * INV_STEP) + 2);
for (let k = 0; k < POW2.length; k++) POW2[k] = 2 ** (-k / N);

/**
 * exp(x) for x <= 0; 0 for x below {@link EXP_NEG_CUTOFF}, for -Infinity and
 * for NaN; positive x is clamped to 0 (the callers subtract the maximum, so
 * it only arises from rounding). expNeg(0) === 1 exactly. Kept branch-light
 * and degree-4 so that V8 inlines it into the softmax loops (a Math.exp
 * fallback branch here made those loops 2x slower).
 */
export function expNeg(x: number): number {
  if (!(x > CUTOFF)) return 0;
  x = Math.min(x, 0);
  const k = (0.5 - x * INV_STEP) | 0; // round(-x / step), >= 0
  const r = x + k * STEP;
  return POW2[k]! * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24)))));
}
