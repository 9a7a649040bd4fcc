import { describe, expect, it } from 'vitest';
import { agreement } from '../src/eval/logit-agreement.js';
import { llamaCppAvailable, llamaCppLogits, makeFixture } from './helpers/llamacpp.js';
import { sharedFile } from './helpers/shared.js';
import { ferrumLogits, seededTokens } from './helpers/teacher-forced.js';

/**
 * Mixture-of-experts models against llama.cpp (node-llama-cpp's CPU
 * prebuilt) on random-weight fixtures: teacher-forced next-token top-1
 * over 256 positions, near-ties (llama.cpp's top-2 within 0.05 of its
 * top-1) set aside and counted. Prefill runs in batches of 64, so
 * mul_mat_id groups many tokens per expert; the last rows of each batch go
 * through the one-row paths.
 */
const POSITIONS = 256;
const TIE_GAP = 0.05;
const vocabFrom = sharedFile('models/tolstoy-tiny-F32.gguf');



const CASES: ReadonlyArray<{ name: string; args: string[] }> = [
  {
    name: 'qwen3moe 4L 8 experts top-2 Q4_K_M',
    args: ['--arch', 'qwen3moe', '--layers', '4', '--dim', '256', '--ff', '1024', '--expert-ff', '512', '--heads', '4', '--kv-heads', '2',
      '--head-dim', '64', '--experts', '8', '--experts-used', '2', '--type', 'Q4_K_M', '--seed', '3'],
  },
  {
    name: 'qwen3moe 4L 8 experts top-2 F16',
    args: ['--arch', 'qwen3moe', '--layers', '4', '--dim', '256', '--ff', '1024', '--expert-ff', '512', '--heads', '4', '--kv-heads', '2',
      '--head-dim', '64', '--experts', '8', '--experts-used', '2', '--type', 'F16', '--seed', '3'],
  },
  {
    name: 'mixtral (llama) 4L 8 experts top-2 Q4_K_M',
    args: ['--arch', 'llama', '--layers', '4', '--dim', '256', '--ff', '512', '--heads', '8', '--kv-heads', '4',
      '--experts', '8', '--experts-used', '2', '--type', 'Q4_K_M', '--seed', '7'],
  },
  {
    name: 'mixtral (llama) 4L 8 experts top-2 F16',
    args: ['--arch', 'llama', '--layers', '4', '--dim', '256', '--ff', '512', '--heads', '8', '--kv-heads', '4',
      '--experts', '8', '--experts-used', '2', '--type', 'F16', '--seed', '7'],
  },
];

describe.skipIf(!vocabFrom || !llamaCppAvailable())('mixture-of-experts logits match llama.cpp', () => {
  for (const c of CASES) {
    it(`${c.name}: top-1 agreement >= 99% over ${POSITIONS} positions`, () => {
      const model = makeFixture([...c.args, '--vocab-from', vocabFrom!]);
      const tokens = seededTokens(POSITIONS, 512, 42);
      const peer = llamaCppLogits(model, tokens, { positions: 'all' }).logits;
      const ours = ferrumLogits(model, tokens);
      const a = agreement(ours, peer, TIE_GAP);
      console.log(`${c.name}: agree ${a.agree}/${a.positions - a.setAside} (${(a.rate * 100).toFixed(1)}%), set aside ${a.setAside}, mean |dlogit| ${a.meanAbsDiff.toExponential(2)}, max ${a.maxAbsDiff.toExponential(2)}`);
      expect(a.positions - a.setAside).toBeGreaterThanOrEqual(POSITIONS / 2);
      expect(a.rate).toBeGreaterThanOrEqual(0.99);
    });
  }
});
