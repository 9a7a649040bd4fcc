import { describe, expect, it } from 'vitest';
import { agreement } from '../src/eval/logit-agreement.js';
import { readProfileEnv } from '../src/profile/env.js';
import { llamaCppAvailable, makeFixture } from './helpers/llamacpp.js';
import { sharedFile } from './helpers/shared.js';
import { ferrumLogits, seededTokens } from './helpers/teacher-forced.js';

/**
 * The CPU's repacked weight layouts (src/model/repack.ts) against the file's
 * own layout, both forced, on Q4_K_M, Q4_0 and Q8_0 models: prefill
 * (4-token kernel calls and a 1-3 token tail) and one-token decode steps.
 * The kernels' float order differs, and these random-weight models amplify
 * rounding about as much as between ferrum and llama.cpp (mean |dlogit|
 * ~3e-3, max ~2e-2 in engine-vs-llamacpp), so that is the bar; the winner
 * must never change.
 * (Whether each agrees with llama.cpp: engine-vs-llamacpp.test.ts runs the
 * default, repacked, path.)
 */
const vocabFrom = sharedFile('models/tolstoy-tiny-F32.gguf');

const CASES: Array<{ arch: string; type: string; extra: string[] }> = [
  { arch: 'llama', type: 'Q4_K_M', extra: [] },
  { arch: 'qwen3', type: 'Q4_K_M', extra: ['--head-dim', '64', '--tied'] },
  { arch: 'llama', type: 'Q4_0', extra: [] },
  { arch: 'llama', type: 'Q8_0', extra: [] },
];

describe('FERRUM_REPACK', () => {
  it('is on unless set to 0 / false', () => {
    expect(readProfileEnv({}).repack).toBe(true);
    expect(readProfileEnv({ FERRUM_REPACK: '1' }).repack).toBe(true);
    expect(readProfileEnv({ FERRUM_REPACK: '0' }).repack).toBe(false);
    expect(readProfileEnv({ FERRUM_REPACK: 'false' }).repack).toBe(false);
  });
});

describe.skipIf(!vocabFrom || !llamaCppAvailable())('repacked weights give the file layout\'s logits', () => {
  for (const c of CASES) {
    it(`${c.arch} ${c.type}: prefill and decode, repacked vs not`, () => {
      const model = makeFixture(['--arch', c.arch, '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
        ...c.extra, '--vocab-from', vocabFrom!, '--type', c.type, '--seed', '13']);
      // 70 tokens: one batch of 64 then a tail of 6 (4 + 2)
      const tokens = seededTokens(70, 512, 44);
      const plain = ferrumLogits(model, tokens, { repack: false });
      for (const batch of [64, 1]) {
        const packed = ferrumLogits(model, tokens, { repack: true, batch });
        const a = agreement(packed, plain, 0.05);
        expect(a.rate, `batch ${batch}`).toBe(1);
        expect(a.meanAbsDiff, `batch ${batch}`).toBeLessThan(1e-2);
        expect(a.maxAbsDiff, `batch ${batch}`).toBeLessThan(5e-2);
        expect(a.maxAbsDiff, `batch ${batch}: the repacked path must have run`).toBeGreaterThan(0);
      }
    });
  }
});
