import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../src/gguf/index.js';
import { Engine } from '../src/model/engine.js';
import { llamaCppAvailable, makeFixture } from './helpers/llamacpp.js';
import { metalEmuLibrary } from './helpers/metal-emu.js';
import { REPO_ROOT } from './helpers/shared.js';
import { ReferenceModel } from './reference/forward.js';

/**
 * A whole model through the Metal kernels: tolstoy-tiny-Q8_0 with backend
 * 'metal' (the MSL emulator; plans built with Metal kernel names and grids by
 * src/backend/metal-geometry.ts), a 9-token prefill then 8 decode steps
 * (one plan replay each), against
 *  - the float64 reference forward pass (test/reference) on the same tokens:
 *    the Metal kernels compute in f32, so within 0.05 on logits spanning
 *    about +-20 (measured: 2.5e-2, mostly K/V stored as f16);
 *  - the CPU executor: the same greedy token at every step, and logits within
 *    1.5 — the CPU reproduces ggml's CPU rounding (activations quantized to
 *    8 bits for Q8_0 weights, half-precision attention), which alone puts it
 *    0.54 from the float64 reference on this prompt.
 */
const lib = metalEmuLibrary();
const argmax = (row: Float32Array): number => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);
const MODEL = resolve(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf');

describe.skipIf(!lib)('tolstoy-tiny-Q8_0 through the Metal kernels (MSL emulator)', () => {
  it('prefill + 8 decode steps: float64 reference within 0.05, CPU executor greedy-identical', () => {
    const opts = { nCtx: 32, batch: 9, threads: 1 } as const;
    const prompt = [1, 450, 114, 310, 278, 186, 338, 263, 178];
    const cpu = Engine.load(MODEL, { ...opts, backend: 'cpu' });
    const metal = Engine.load(MODEL, { ...opts, backend: 'metal' });
    try {
      const tokens = [...prompt];
      const gotRows: Float32Array[] = [];
      const cpuRows: Float32Array[] = [];
      let pos = 0;
      let batch = prompt;
      for (let k = 0; k <= 8; k++) {
        const want = cpu.eval(batch, pos)[0]!;
        const got = metal.eval(batch, pos)[0]!;
        cpuRows.push(want);
        gotRows.push(got);
        expect(argmax(got), `greedy token after position ${pos + batch.length - 1}`).toBe(argmax(want));
        pos += batch.length;
        batch = [argmax(want)];
        tokens.push(batch[0]!);
      }
      const ref = new ReferenceModel(readGguf(MODEL)).forward(tokens.slice(0, -1));
      let worstRef = 0, worstCpu = 0;
      gotRows.forEach((row, k) => {
        const r = ref[prompt.length - 1 + k]!;
        row.forEach((v, i) => {
          worstRef = Math.max(worstRef, Math.abs(v - r[i]!));
          worstCpu = Math.max(worstCpu, Math.abs(v - cpuRows[k]![i]!));
        });
      });
      console.log(`metal-emu forward: worst |logit diff| vs float64 reference ${worstRef.toExponential(2)}, vs CPU ${worstCpu.toExponential(2)}`);
      expect(worstRef).toBeLessThan(0.05);
      expect(worstCpu).toBeLessThan(1.5);
    } finally {
      cpu.close();
      metal.close();
    }
  });

  // Chunks before the last have no logits rows: their steps must still fill the KV cache.
  it('a prompt longer than the batch: the last chunk\'s logits after chunks with no output rows', () => {
    const opts = { nCtx: 32, batch: 6, threads: 1 } as const;
    const prompt = [1, 450, 114, 310, 278, 186, 338, 263, 178, 450, 114, 310, 278, 186, 338, 263];
    const cpu = Engine.load(MODEL, { ...opts, backend: 'cpu' });
    const metal = Engine.load(MODEL, { ...opts, backend: 'metal' });
    try {
      const want = cpu.eval(prompt, 0)[0]!;
      const got = metal.eval(prompt, 0)[0]!;
      const ref = new ReferenceModel(readGguf(MODEL)).forward(prompt)[prompt.length - 1]!;
      let worstRef = 0;
      got.forEach((v, i) => { worstRef = Math.max(worstRef, Math.abs(v - ref[i]!)); });
      expect(worstRef).toBeLessThan(0.05);
      expect(argmax(got)).toBe(argmax(want));
    } finally {
      cpu.close();
      metal.close();
    }
  });
});

/**
 * A mixture-of-experts model through the Metal kernels: a random-weight
 * qwen3moe fixture (2 layers, 8 experts, top-2, Q8_0; make-fixture needs
 * llama.cpp's quantizer) through moe_route, mul_mv_id and moe_sum, prefill
 * then decode, greedy-identical to the CPU executor at every step.
 */
const haveQuantizer = lib !== undefined && llamaCppAvailable();
describe.skipIf(!haveQuantizer)('qwen3moe fixture through the Metal kernels (MSL emulator)', () => {
  it('prefill + 6 decode steps: the CPU executor\'s greedy tokens, logits close', () => {
    const model = makeFixture(['--arch', 'qwen3moe', '--layers', '2', '--dim', '256', '--ff', '512', '--heads', '8', '--kv-heads', '4',
      '--experts', '8', '--experts-used', '2', '--expert-ff', '256', '--type', 'Q8_0', '--vocab-from', MODEL]);
    const opts = { nCtx: 32, batch: 7, threads: 1 } as const;
    const prompt = [1, 450, 114, 310, 278, 186, 338];
    const cpu = Engine.load(model, { ...opts, backend: 'cpu' });
    const metal = Engine.load(model, { ...opts, backend: 'metal' });
    try {
      let pos = 0;
      let batch = prompt;
      let worst = 0, spread = 0;
      for (let k = 0; k <= 6; k++) {
        const want = cpu.eval(batch, pos)[0]!;
        const got = metal.eval(batch, pos)[0]!;
        expect(argmax(got), `greedy token after position ${pos + batch.length - 1}`).toBe(argmax(want));
        got.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - want[i]!)); });
        spread = Math.max(spread, ...want.map(Math.abs));
        pos += batch.length;
        batch = [argmax(want)];
      }
      console.log(`metal-emu qwen3moe forward: worst |logit diff| vs CPU ${worst.toExponential(2)} (logits up to ${spread.toFixed(2)})`);
      expect(worst).toBeLessThan(0.05 * Math.max(1, spread));
    } finally {
      cpu.close();
      metal.close();
    }
  });
});
