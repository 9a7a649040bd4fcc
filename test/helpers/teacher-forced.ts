import { Engine } from '../../src/model/engine.js';

/** BOS then seeded pseudo-random ids above the special tokens: the same sequence every run. */
export function seededTokens(n: number, nVocab: number, seed: number): number[] {
  let s = seed;
  const out = [1];
  while (out.length < n) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out.push(3 + ((s >>> 8) % (nVocab - 3)));
  }
  return out;
}

/**
 * ferrum's logits after every token (teacher-forced), prefilled in batches
 * of 64 (batch 1: one decode step per token). `repack` forces the CPU's
 * weight layout either way (default: FERRUM_REPACK, else repacked).
 */
export function ferrumLogits(model: string, tokens: readonly number[], opts: { batch?: number; repack?: boolean } = {}): Float32Array[] {
  const batch = opts.batch ?? 64;
  const e = Engine.load(model, { nCtx: tokens.length, batch, maxOutputs: batch, threads: 2, ...(opts.repack === undefined ? {} : { repack: opts.repack }) });
  try {
    return e.eval(tokens, 0, tokens.map((_, i) => i));
  } finally {
    e.close();
  }
}
