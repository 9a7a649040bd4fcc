import { describe, expect, it } from 'vitest';
import { agreement } from '../src/eval/logit-agreement.js';
import { Engine } from '../src/model/engine.js';
import { llamaCppAvailable, llamaCppLogits, makeFixture, maxAbsDifference } from './helpers/llamacpp.js';
import { sharedFile } from './helpers/shared.js';
import { ferrumLogits, seededTokens } from './helpers/teacher-forced.js';

/**
 * ferrum against llama.cpp (node-llama-cpp's CPU prebuilt) on the same GGUF:
 * teacher-forced next-token top-1 over 256 positions, for every weight type
 * the CPU backend computes with. Positions where llama.cpp's own top-2 is
 * within 0.05 of its top-1 are set aside (two correct engines may split
 * there) and counted in the report.
 */
const TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K_M', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'IQ4_NL', 'IQ4_XS'];
const POSITIONS = 256;
const TIE_GAP = 0.05;
const vocabFrom = sharedFile('models/tolstoy-tiny-F32.gguf');



const report: string[] = [];

/** qwen2 (q/k/v biases, NeoX RoPE, tied output) and qwen3 (QK-norm, head dim != dim/heads) in two weight types each. */
const ARCH_CASES: Array<{ arch: string; type: string; extra: string[] }> = [
  { arch: 'qwen2', type: 'Q8_0', extra: ['--tied'] },
  { arch: 'qwen2', type: 'Q4_K_M', extra: [] },
  { arch: 'qwen3', type: 'Q8_0', extra: ['--head-dim', '64'] },
  { arch: 'qwen3', type: 'Q4_K_M', extra: ['--head-dim', '64', '--tied'] },
];

describe.skipIf(!vocabFrom || !llamaCppAvailable())('logits match llama.cpp for every weight type', () => {
  for (const type of TYPES) {
    it(`${type}: top-1 agreement >= 99% over ${POSITIONS} positions`, () => {
      // A real-shaped llama block (dims multiple of 256 for the K-quants) with the small tolstoy vocab.
      const model = makeFixture(['--arch', 'llama', '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
        '--vocab-from', vocabFrom!, '--type', type, '--seed', '7']);
      const tokens = seededTokens(POSITIONS, 512, 42);
      const peer = llamaCppLogits(model, tokens, { positions: 'all' }).logits;
      const ours = ferrumLogits(model, tokens);
      const a = agreement(ours, peer, TIE_GAP);
      report.push(`${type.padEnd(7)} agree ${a.agree}/${a.positions - a.setAside} (${(a.rate * 100).toFixed(1)}%), set aside ${a.setAside}, mean |dlogit| ${a.meanAbsDiff.toExponential(2)}, max ${a.maxAbsDiff.toExponential(2)}`);
      console.log(report.at(-1));
      expect(a.positions - a.setAside).toBeGreaterThanOrEqual(POSITIONS / 2);
      expect(a.rate).toBeGreaterThanOrEqual(0.99);
    });
  }

  // Prompt chunks before the last have no output rows: their steps still
  // fill the KV cache, and the last chunk's logits are llama.cpp's.
  it('a prompt longer than the batch: the last logits after chunks with no output rows', () => {
    const model = makeFixture(['--arch', 'llama', '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
      '--vocab-from', vocabFrom!, '--type', 'Q8_0', '--seed', '7']);
    const tokens = seededTokens(200, 512, 44);
    const peer = llamaCppLogits(model, tokens).logits[0]!;
    const e = Engine.load(model, { nCtx: 256, batch: 48, threads: 2 });
    let ours: Float32Array;
    try {
      ours = e.eval(tokens, 0)[0]!;
    } finally {
      e.close();
    }
    const scale = peer.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    console.log(`chunked prompt: max |dlogit| ${maxAbsDifference(ours, peer).toExponential(2)} of max |logit| ${scale.toFixed(2)}`);
    expect(maxAbsDifference(ours, peer)).toBeLessThan(0.02 * scale);
  });

  // Past the first block of the KV cache (FR_KV_BLOCK_ROWS = 1024 positions,
  // metal/ferrum_params.h): from position 1024 on every head's rows lie in a
  // second block, written and read across the boundary in batches of 64.
  it('a context of two KV cache blocks: top-1 agreement >= 99%, and past the first block', () => {
    const model = makeFixture(['--arch', 'llama', '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
      '--vocab-from', vocabFrom!, '--type', 'Q8_0', '--seed', '7']);
    const tokens = seededTokens(1100, 512, 45);
    const peer = llamaCppLogits(model, tokens, { positions: 'all' }).logits;
    const ours = ferrumLogits(model, tokens);
    const all = agreement(ours, peer, TIE_GAP), past = agreement(ours.slice(1024), peer.slice(1024), TIE_GAP);
    console.log(`1100 positions: agree ${all.agree}/${all.positions - all.setAside}, past 1024 ${past.agree}/${past.positions - past.setAside}, max |dlogit| ${all.maxAbsDiff.toExponential(2)}`);
    expect(past.positions - past.setAside).toBeGreaterThanOrEqual(38);
    expect(all.rate).toBeGreaterThanOrEqual(0.99);
    expect(past.rate).toBeGreaterThanOrEqual(0.99);
  });

  for (const c of ARCH_CASES) {
    it(`${c.arch} ${c.type} ${c.extra.join(' ')}: top-1 agreement >= 99% over ${POSITIONS} positions`, () => {
      const model = makeFixture(['--arch', c.arch, '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
        ...c.extra, '--vocab-from', vocabFrom!, '--type', c.type, '--seed', '11']);
      const tokens = seededTokens(POSITIONS, 512, 43);
      const a = agreement(ferrumLogits(model, tokens), llamaCppLogits(model, tokens, { positions: 'all' }).logits, TIE_GAP);
      console.log(`${c.arch} ${c.type} agree ${a.agree}/${a.positions - a.setAside}, set aside ${a.setAside}, mean |dlogit| ${a.meanAbsDiff.toExponential(2)}, max ${a.maxAbsDiff.toExponential(2)}`);
      expect(a.positions - a.setAside).toBeGreaterThanOrEqual(POSITIONS / 2);
      expect(a.rate).toBeGreaterThanOrEqual(0.99);
    });
  }
});
