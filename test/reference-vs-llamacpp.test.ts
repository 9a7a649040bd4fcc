import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GgmlType, kv, readGguf, writeGguf } from '../src/gguf/index.js';
import { llamaCppAvailable, llamaCppLogits, makeFixture, maxAbsDifference } from './helpers/llamacpp.js';
import { sharedFile } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';
import { dequantizeTensor } from './reference/dequant.js';
import { ReferenceModel } from './reference/forward.js';

// The oracle checked logit by logit against llama.cpp (node-llama-cpp), on a
// trained model and on random models of each architecture.

/**
 * With an F32 KV cache and flash attention off, llama.cpp's CPU path on F32
 * weights is float32 throughout, so the reference must agree to float32
 * rounding: 1e-5 of the largest logit (measured: 1e-6 of it).
 */
function expectSameLogits(model: ReferenceModel, path: string, tokens: readonly number[]): number {
  const ours = model.forward(tokens);
  const peer = llamaCppLogits(path, tokens, { positions: 'all', kvType: 'F32', flashAttention: false });
  expect(peer.logits).toHaveLength(tokens.length);
  let scale = 1;
  let worst = 0;
  peer.logits.forEach((row, pos) => {
    for (const v of row) scale = Math.max(scale, Math.abs(v));
    worst = Math.max(worst, maxAbsDifference(row, ours[pos]!));
  });
  expect(worst).toBeLessThan(1e-5 * scale);
  return worst / scale;
}

const tolstoyPath = sharedFile('models/tolstoy-tiny-F32.gguf');
const haveLlamaCpp = llamaCppAvailable();

describe.skipIf(!tolstoyPath || !haveLlamaCpp)('reference logits equal llama.cpp\'s float32 logits', () => {
  // "The old prince" and the start of llama.cpp's greedy continuation (llamacpp-greedy.jsonl).
  const dir = tempDir('reference-vs-llamacpp');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tokens = [1, 366, 268, 323, 295, 379, 317, 450, 395, 339, 431, 413, 278, 432, 352, 448, 331, 433, 432, 450, 318, 297, 313];

  it('tolstoy-tiny-F32 (llama, trained), every position', () => {
    const worst = expectSameLogits(new ReferenceModel(readGguf(tolstoyPath!)), tolstoyPath!, tokens);
    console.log(`tolstoy-tiny-F32: max |reference - llama.cpp| = ${worst.toExponential(1)} of the largest logit`);
  });

  it('tolstoy-tiny-Q5_0-mix dequantized to F32 by the reference (Q5_0 and Q8_0 weights of a real model)', () => {
    const quantizedPath = sharedFile('models/tolstoy-tiny-Q5_0-mix.gguf');
    if (!quantizedPath) return;
    const quantized = readGguf(quantizedPath);
    const copy = join(dir, 'tolstoy-tiny-dequantized-F32.gguf');
    writeGguf(copy, {
      metadata: [...quantized.metadata].map(([key, value]) => [key, key === 'general.file_type' ? kv.u32(0) : value] as const),
      tensors: quantized.tensors.map((t) => ({
        name: t.name,
        dims: t.dims,
        type: GgmlType.F32,
        data: new Uint8Array(dequantizeTensor(quantized, t).buffer),
      })),
    });
    // The reference reads the quantized file itself; llama.cpp gets the F32 copy.
    expectSameLogits(new ReferenceModel(quantized), copy, tokens);
  });

  // Random F32 models of each architecture exercise what tolstoy does not:
  // NEOX RoPE, q/k/v biases and a tied output (qwen2), per-head QK-norm with
  // a head width that is not dim/heads (qwen3). The tolstoy vocabulary keeps them small.
  const shapes: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['llama', ['--arch', 'llama', '--layers', '2', '--dim', '128', '--ff', '256', '--heads', '4', '--kv-heads', '2', '--rope-base', '500']],
    ['qwen2', ['--arch', 'qwen2', '--layers', '2', '--dim', '128', '--ff', '256', '--heads', '4', '--kv-heads', '2', '--tied', '--rope-base', '500']],
    ['qwen3', ['--arch', 'qwen3', '--layers', '2', '--dim', '128', '--ff', '256', '--heads', '4', '--kv-heads', '2', '--head-dim', '48', '--rope-base', '500']],
  ];
  it.each(shapes)('random %s F32 fixture, every position', (arch, args) => {
    const path = makeFixture([...args, '--type', 'F32', '--vocab-from', tolstoyPath!, '--out', join(dir, `${arch}.gguf`)]);
    const worst = expectSameLogits(new ReferenceModel(readGguf(path)), path, tokens);
    console.log(`${arch} F32 fixture: max |reference - llama.cpp| = ${worst.toExponential(1)} of the largest logit`);
  });
});
