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

/** ferrum's logits after every token (teacher-forced), prefilled in batches of 64. */
export function ferrumLogits(model: string, tokens: readonly number[]): Float32Array[] {
  const e = Engine.load(model, { nCtx: tokens.length, batch: 64, maxOutputs: 64, threads: 2 });
  try {
    return e.eval(tokens, 0, tokens.map((_, i) => i));
  } finally {
    e.close();
  }
}
