import { afterAll, describe, expect, it } from 'vitest';
import { Device } from '../src/backend/device.js';
import { OpBuilder, type WeightBinding } from '../src/backend/op-builder.js';
import type { Binding, Slots } from '../src/backend/plan.js';
import { ggmlTypeInfo, ggmlTypeName, readGguf } from '../src/gguf/index.js';
import { WRAP_PAGE } from '../src/model/weights.js';
import { llamaCppAvailable, makeFixture } from './helpers/llamacpp.js';
import { SeededRandom } from './helpers/random.js';
import { sharedFile } from './helpers/shared.js';
import { dequantizeTensor } from './reference/dequant.js';
import { causalAttention, matVec, rmsNorm, rope, swiglu } from './reference/ops.js';

/**
 * Each CPU kernel against the reference op (test/reference/ops.ts) on random
 * inputs, one op per eager dispatch. Tolerances follow from what the kernel
 * rounds on purpose, as llama.cpp does: F16 K/V/Q in attention, activations
 * quantized to 8 bits per block for quantized weights.
 */
const device = Device.open('cpu', 2);
afterAll(() => device.close());
const rnd = new SeededRandom(1234);
const SLOTS = (nTokens: number, pos0 = 0, nOut = 0): Slots => [nTokens, pos0, nOut, 0];

function upload(values: Float32Array): Binding {
  const h = device.newBuffer(values.length * 4);
  device.contents(h).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { buffer: h, offset: 0 };
}
function scratch(floats: number): Binding {
  return { buffer: device.newBuffer(floats * 4), offset: 0 };
}
function read(b: Binding, floats: number): Float32Array {
  const buf = device.contents(b.buffer);
  return new Float32Array(buf.buffer.slice(buf.byteOffset + b.offset, buf.byteOffset + b.offset + floats * 4));
}
function randoms(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rnd.normal() * scale);
}
function run(build: (b: OpBuilder) => void, slots: Slots): void {
  const b = new OpBuilder(device);
  build(b);
  for (const op of b.ops) device.dispatch(op, slots, true);
}
function rows(a: Float32Array, n: number): Float32Array[] {
  const w = a.length / n;
  return Array.from({ length: n }, (_, i) => a.subarray(i * w, (i + 1) * w));
}
function expectClose(got: Float32Array, want: Float32Array, atol: number, what: string): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - atol * Math.max(1, Math.abs(want[i]!)));
  expect(worst, `${what}: exceeds tolerance by ${worst}`).toBeLessThanOrEqual(0);
}

describe('CPU kernels match the reference ops', () => {
  it('rms_norm_f32 (rows of 256 and of 100)', () => {
    for (const [n, t] of [[256, 3], [100, 5]] as const) {
      const x = randoms(n * t);
      const w = randoms(n);
      const dst = scratch(n * t);
      run((b) => b.rmsNorm(upload(x), upload(w), dst, n, { slot: 0, scale: 1 }, 1e-5), SLOTS(t));
      const want = rows(x, t).map((r) => rmsNorm(r, w, 1e-5));
      rows(read(dst, n * t), t).forEach((r, i) => expectClose(r, want[i]!, 1e-6, `row ${i}`));
    }
  });

  it('rope_f32 in both modes, partial rotation, positions from pos0', () => {
    for (const mode of [0, 2] as const) {
      for (const nDims of [64, 32]) {
        const headDim = 64;
        const nHead = 3;
        const t = 4;
        const pos0 = 17;
        const x = randoms(headDim * nHead * t);
        const dst = scratch(x.length);
        run((b) => b.rope(upload(x), dst, { headDim, nDims, nHead, mode, freqBase: 10000, freqScale: 0.5 }), SLOTS(t, pos0));
        const p = { mode: mode === 0 ? 'norm' as const : 'neox' as const, nDims, base: 10000, freqScale: 0.5 };
        rows(read(dst, x.length), t).forEach((r, i) => expectClose(r, rope(rows(x, t)[i]!, headDim, pos0 + i, p), 2e-5, `mode ${mode} dims ${nDims} token ${i}`));
      }
    }
  });

  it('swiglu_f32 and add_f32 (with a broadcast bias)', () => {
    const n = 3 * 96;
    const g = randoms(n, 3);
    const u = randoms(n);
    const dst = scratch(n);
    run((b) => b.swiglu(upload(g), upload(u), dst, { slot: 0, scale: 96 }), SLOTS(3));
    expectClose(read(dst, n), swiglu(g, u), 1e-6, 'swiglu');
    const bias = randoms(96);
    const sum = scratch(n);
    run((b) => b.add(upload(g), upload(bias), sum, { slot: 0, scale: 96 }, 96), SLOTS(3));
    expectClose(read(sum, n), g.map((v, i) => v + bias[i % 96]!), 0, 'add');
  });

  it('cpy_f32_<kv> + attn_<kv>: causal GQA attention over the cache', () => {
    const [nHead, nHeadKV, headDim, t, nCtx] = [8, 2, 64, 6, 16];
    const q = randoms(t * nHead * headDim);
    const k = randoms(t * nHeadKV * headDim);
    const v = randoms(t * nHeadKV * headDim);
    const want = causalAttention(rows(q, t), rows(k, t), rows(v, t), { nHead, nHeadKv: nHeadKV, headDim, scale: 1 / 8 });
    // f16/f32 caches round Q, K and V to half precision (as llama.cpp's flash attention does); q8_0 to 8 bits.
    for (const [kv, bytes, tol] of [['f32', 4, 4e-3], ['f16', 2, 4e-3], ['q8_0', 34 / 32, 3e-2]] as const) {
      const kc = { buffer: device.newBuffer(nCtx * nHeadKV * headDim * bytes), offset: 0 };
      const vc = { buffer: device.newBuffer(nCtx * nHeadKV * headDim * bytes), offset: 0 };
      const dst = scratch(q.length);
      run((b) => {
        b.kvStore(upload(k), kc, kv, { nHeadKV, headDim, nCtx });
        b.kvStore(upload(v), vc, kv, { nHeadKV, headDim, nCtx });
        b.attention(upload(q), kc, vc, dst, kv, { nHead, nHeadKV, headDim, nCtx, scale: 1 / 8 });
      }, SLOTS(t));
      rows(read(dst, q.length), t).forEach((r, i) => expectClose(r, want[i]!, tol, `${kv} position ${i}`));
    }
  });
});

const TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K_M', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'IQ4_NL', 'IQ4_XS'];
const vocabFrom = sharedFile('models/tolstoy-tiny-F32.gguf');

describe.skipIf(!vocabFrom || !llamaCppAvailable())('get_rows and mul_mat for every weight type of real quantized tensors', () => {
  const seen = new Set<string>();
  for (const ftype of TYPES) {
    it(`${ftype} fixture: every tensor type in it`, () => {
      const path = makeFixture(['--arch', 'llama', '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
        '--vocab-from', vocabFrom!, '--type', ftype, '--seed', '7']);
      const file = readGguf(path);
      // Wrapped buffers and the map live until the device closes with the file.
      const map = device.mapFile(path);
      {
        for (const t of file.tensors.filter((x) => x.dims.length === 2)) {
          const typeName = ggmlTypeName(t.type);
          if (seen.has(typeName)) continue;
          seen.add(typeName);
          const info = ggmlTypeInfo(t.type)!;
          const [cols, nRows] = [t.dims[0]!, t.dims[1]!];
          const start = Math.floor(t.fileOffset / WRAP_PAGE) * WRAP_PAGE;
          const w: WeightBinding = {
            buffer: device.wrap(map, start, t.fileOffset + t.bytes! - start), offset: t.fileOffset - start,
            type: t.type, rowBytes: (cols / info.blockSize) * info.typeSize,
          };
          const ref = dequantizeTensor(file, t);
          // get_rows: exact dequantization of the chosen rows.
          const ids = [0, nRows - 1, 7];
          const idsBuf = { buffer: device.newBuffer(12), offset: 0 };
          new Int32Array(device.contents(idsBuf.buffer).buffer, device.contents(idsBuf.buffer).byteOffset, 3).set(ids);
          const got = scratch(3 * cols);
          run((b) => b.getRows(w, idsBuf, got, cols, nRows, { slot: 0, scale: 1 }), SLOTS(3));
          rows(read(got, 3 * cols), 3).forEach((r, i) => expectClose(r, ref.subarray(ids[i]! * cols, (ids[i]! + 1) * cols), 0, `${typeName} get_rows ${ids[i]}`));
          // mul_mat: 5 tokens against the dequantized matrix in float64.
          const nTok = 5;
          const x = randoms(nTok * cols);
          const y = scratch(nTok * nRows);
          run((b) => b.mulMat(w, upload(x), y, cols, nRows, { slot: 0, scale: 1 }), SLOTS(nTok));
          const m = { rows: nRows, cols, data: ref };
          // Error budget of rounding the activations to the weight's dot-product partner:
          // 8-bit blocks (~1/254 of each block's max), F16 (2^-11) or BF16 (2^-8) per value.
          const rel = t.type === 0 ? 1e-6 : t.type === 1 ? 1e-3 : t.type === 30 ? 8e-3 : 1.2e-2;
          rows(read(y, nTok * nRows), nTok).forEach((r, i) => {
            const xi = rows(x, nTok)[i]!;
            const want = matVec(m, xi);
            for (let row = 0; row < nRows; row++) {
              let budget = 0;
              for (let c = 0; c < cols; c++) budget += Math.abs(ref[row * cols + c]! * xi[c]!);
              expect(Math.abs(r[row]! - want[row]!), `${typeName} mul_mat token ${i} row ${row}`).toBeLessThanOrEqual(rel * budget + 1e-6);
            }
          });
        }
      }
    });
  }
  it('covered every computable weight type', () => {
    expect([...seen].sort()).toEqual(['BF16', 'F16', 'F32', 'IQ4_NL', 'IQ4_XS', 'Q2_K', 'Q3_K', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0'].sort());
  });
});

describe('mixture-of-experts kernels', () => {
  const ints = (values: readonly number[]): Binding => {
    const h = device.newBuffer(Math.max(values.length * 4, 16));
    const c = device.contents(h);
    new Int32Array(c.buffer, c.byteOffset, values.length).set(values);
    return { buffer: h, offset: 0 };
  };
  const readInts = (b: Binding, n: number): number[] => {
    const c = device.contents(b.buffer);
    return [...new Int32Array(c.buffer.slice(c.byteOffset + b.offset, c.byteOffset + b.offset + n * 4))];
  };

  it('moe_route_f32: top-k descending, ties to the lower expert, optional renormalisation and scale', () => {
    const probs = Float32Array.from([0.1, 0.3, 0.3, 0.05, 0.2, 0.05, /* token 2 */ 0.05, 0.05, 0.1, 0.4, 0.1, 0.3]);
    for (const [norm, scale] of [[true, 1], [false, 2]] as const) {
      const ids = scratch(6);
      const w = scratch(6);
      run((b) => b.moeRoute(upload(probs), ids, w, { nExpert: 6, nUsed: 3, nTokens: { slot: 0, scale: 1 }, norm, scale }), SLOTS(2));
      expect(readInts(ids, 6)).toEqual([1, 2, 4, 3, 5, 2]);
      const raw = [0.3, 0.3, 0.2, 0.4, 0.3, 0.1].map(Math.fround);
      const want = raw.map((p, i) => {
        const t = Math.floor(i / 3);
        const sum = Math.fround(raw[3 * t]! + raw[3 * t + 1]! + raw[3 * t + 2]!);
        return norm ? Math.fround(p / sum) : Math.fround(p * scale);
      });
      expect([...read(w, 6)]).toEqual(want);
    }
  });

  it('mul_mat_id_f32: per token and per slot inputs equal mul_mat on each selected expert', () => {
    const [nExpert, nRows, nCols, nUsed, nTok] = [5, 24, 64, 2, 41];
    const wData = randoms(nExpert * nRows * nCols);
    const w: WeightBinding = { ...upload(wData), type: 0, rowBytes: nCols * 4 };
    // skewed choices so that one expert gets more than a 32-pair tile
    const ids: number[] = [];
    for (let t = 0; t < nTok; t++) {
      const a = t % 7 === 0 ? 3 : 0;
      ids.push(a, (a + 1 + (t % (nExpert - 1))) % nExpert === a ? (a + 2) % nExpert : (a + 1 + (t % (nExpert - 1))) % nExpert);
    }
    const idsBuf = ints(ids);
    for (const xPerSlot of [false, true]) {
      const x = randoms(nTok * (xPerSlot ? nUsed : 1) * nCols);
      const xb = upload(x);
      const dst = scratch(nTok * nUsed * nRows);
      run((b) => b.mulMatId(w, idsBuf, xb, dst, { nCols, nRows, nExpert, nUsed, nTokens: { slot: 0, scale: 1 }, xPerSlot }), SLOTS(nTok));
      const got = read(dst, nTok * nUsed * nRows);
      for (let t = 0; t < nTok; t++) {
        for (let s = 0; s < nUsed; s++) {
          const e = ids[t * nUsed + s]!;
          const xi = xPerSlot ? t * nUsed + s : t;
          const one = scratch(nRows);
          const we: WeightBinding = { buffer: w.buffer, offset: e * nRows * nCols * 4, type: 0, rowBytes: nCols * 4 };
          run((b) => b.mulMat(we, upload(x.subarray(xi * nCols, (xi + 1) * nCols)), one, nCols, nRows, 1), SLOTS(1));
          expect([...got.subarray((t * nUsed + s) * nRows, (t * nUsed + s + 1) * nRows)], `token ${t} slot ${s}`).toEqual([...read(one, nRows)]);
        }
      }
    }
  });

  it('mul_mat_id rejects an expert id outside the tensor', () => {
    const w: WeightBinding = { ...upload(randoms(2 * 4 * 32)), type: 0, rowBytes: 32 * 4 };
    expect(() => run((b) => b.mulMatId(w, ints([0, 2]), upload(randoms(32)), scratch(8),
      { nCols: 32, nRows: 4, nExpert: 2, nUsed: 2, nTokens: 1, xPerSlot: false }), SLOTS(1))).toThrow(/expert id 2/);
  });

  it('moe_sum_f32: products rounded to f32, added slot by slot', () => {
    const [nCols, nUsed, nTok] = [40, 3, 2];
    const e = randoms(nTok * nUsed * nCols);
    const wts = Float32Array.from([0.5, 0.3, 0.2, 0.7, 0.2, 0.1]);
    const dst = scratch(nTok * nCols);
    run((b) => b.moeSum(upload(e), upload(wts), dst, nCols, nUsed, { slot: 0, scale: 1 }), SLOTS(nTok));
    const want = new Float32Array(nTok * nCols);
    for (let t = 0; t < nTok; t++) {
      for (let c = 0; c < nCols; c++) {
        let acc = Math.fround(e[t * nUsed * nCols + c]! * wts[t * nUsed]!);
        for (let s = 1; s < nUsed; s++) acc = Math.fround(acc + Math.fround(e[(t * nUsed + s) * nCols + c]! * wts[t * nUsed + s]!));
        want[t * nCols + c] = acc;
      }
    }
    expect([...read(dst, nTok * nCols)]).toEqual([...want]);
  });
});
