// Log-probabilities for `--logprobs N` (OpenAI-style: the log-softmax of the
// model's raw logits, before penalties, truncation and temperature) and the
// plain argmax.

import { expNeg } from './fastexp.js';
import { argmax, maxLogit, topKSelect } from './truncation.js';

export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** The argmax of the logits; ties → lowest id (as llama.cpp's greedy sampler). */
export function greedy(logits: Float32Array): number {
  return argmax(logits, logits.length);
}

/** log Σ exp(logits), computed in float64 around the max. */
export function logSumExp(logits: Float32Array): number {
  const max = maxLogit(logits);
  if (!Number.isFinite(max)) return max;
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += expNeg(logits[i]! - max);
  return max + Math.log(z);
}

/**
 * The n most likely tokens under softmax(logits), most likely first (ties →
 * lower id), with their natural-log probabilities (each <= 0).
 */
export function topLogprobs(logits: Float32Array, n: number): TokenLogprob[] {
  const len = logits.length;
  const k = Math.min(Math.max(0, Math.floor(n)), len);
  if (k === 0) return [];
  const max = maxLogit(logits);
  let z = 0;
  for (let i = 0; i < len; i++) z += expNeg(logits[i]! - max);
  const logZ = Math.log(z); // >= 0: the max contributes exactly 1
  const ids = new Int32Array(k);
  topKSelect(logits, len, k, ids);
  return Array.from(ids, (id) => ({ id, logprob: logits[id]! - max - logZ }));
}
