import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../src/backend/device.js';
import { BinaryParams } from '../src/backend/params.js';
import type { Binding, OpRecord } from '../src/backend/plan.js';
import { metalEmuLibrary } from './helpers/metal-emu.js';
import { SeededRandom } from './helpers/random.js';
import { REPO_ROOT } from './helpers/shared.js';

/**
 * The MSL emulator itself (tools/metal-emu): SIMD-group functions rendezvous
 * across 32 lanes, threadgroup memory is shared and barriers order it,
 * multi-dimensional positions, and the two failures it must turn into errors
 * naming the kernel: a barrier not every thread reaches, and an access
 * outside what the op's params describe. Kernels: test/fixtures/metal-emu.
 */
const lib = metalEmuLibrary();
const d = lib ? describe : describe.skip;
let dev: Device;
beforeAll(() => {
  if (!lib) return;
  process.env.FERRUM_METAL_DIR = resolve(REPO_ROOT, 'test/fixtures/metal-emu');
  dev = Device.open('metal', 1);
});
afterAll(() => {
  dev?.close();
  delete process.env.FERRUM_METAL_DIR;
});

const rnd = new SeededRandom(99);
function buf(values: Float32Array): Binding {
  const h = dev.newBuffer(values.byteLength);
  dev.contents(h).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { buffer: h, offset: 0 };
}
function read(b: Binding, n: number): Float32Array {
  const c = dev.contents(b.buffer);
  return new Float32Array(c.buffer.slice(c.byteOffset, c.byteOffset + n * 4));
}
function dispatch(variant: string, n: number, grid: [number, number, number], tg: [number, number, number]) {
  const a = Float32Array.from({ length: n }, () => Math.round(rnd.normal() * 8));
  const b = Float32Array.from({ length: n }, () => Math.round(rnd.normal() * 8));
  const A = buf(a), B = buf(b), D = buf(new Float32Array(n));
  const op: OpRecord = {
    name: variant,
    kernel: dev.kernel(`kernel_add_f32__${variant}`),
    bindings: [A, B, D],
    params: BinaryParams.encode({ n, n_b: n }),
    patches: [],
    grid,
    threadgroup: tg,
  };
  const run = () => dev.dispatch(op, [0, 0, 0, 0], true);
  return { a, b, run, out: () => read(D, n) };
}

d('MSL emulator runtime', () => {
  it('simd_shuffle_down / _xor, simd_broadcast, simd_sum and simd_prefix_exclusive_sum across 32 lanes', () => {
    const n = 128;
    const { a, b, run, out } = dispatch('simd', n, [2, 1, 1], [64, 1, 1]);
    run();
    const got = out();
    for (let i = 0; i < n; i++) {
      const lane = i % 32, g0 = i - lane;
      let sum = 0;
      for (let l = 0; l < 32; l++) sum += b[g0 + l]!;
      const want = (lane === 31 ? a[i]! : a[i + 1]!) + sum + lane + a[g0 + (lane ^ 1)]! + a[g0]!;
      expect(got[i], `thread ${i}`).toBe(want);
    }
  });

  it('threadgroup memory shared by every thread, ordered by threadgroup_barrier (1024-thread groups)', () => {
    for (const tg of [64, 1024]) {
      const n = 2 * tg;
      const { a, run, out } = dispatch('barrier', n, [2, 1, 1], [tg, 1, 1]);
      run();
      const got = out();
      for (let g = 0; g < 2; g++) {
        const mx = Math.max(...a.subarray(g * tg, (g + 1) * tg));
        for (let t = 0; t < tg; t++) expect(got[g * tg + t]).toBe(a[g * tg + tg - 1 - t]! + mx);
      }
    }
  });

  it('2-D grids of 2-D threadgroups: thread_position_in_grid and threads_per_grid', () => {
    const { run, out } = dispatch('grid2d', 12 * 10, [3, 5, 1], [4, 2, 1]);
    run();
    const got = out();
    for (let y = 0; y < 10; y++) for (let x = 0; x < 12; x++) expect(got[y * 12 + x]).toBe(x + 1000 * y);
  });

  it('a barrier that not every thread reaches is an error naming the kernel, not a hang', () => {
    const { run } = dispatch('deadlock', 64, [1, 1, 1], [64, 1, 1]);
    expect(run).toThrow(/kernel_add_f32__deadlock: deadlock in threadgroup \(0,0,0\)/);
  });

  it('an access past what the params describe fails with kernel, binding and offset', () => {
    const { run } = dispatch('oob', 64, [1, 1, 1], [64, 1, 1]);
    expect(run).toThrow(/kernel_add_f32__oob: out-of-bounds access to binding 0 \(\[\[buffer\(1\)\]\]\) at byte 16384; its params allow 256 bytes/);
    // the device still works afterwards
    const ok = dispatch('simd', 32, [1, 1, 1], [32, 1, 1]);
    ok.run();
  });
});
