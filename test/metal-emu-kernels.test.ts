import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../src/backend/device.js';
import { metalDispatch } from '../src/backend/metal-geometry.js';
import { OpBuilder, type KvType, type WeightBinding } from '../src/backend/op-builder.js';
import { type Binding, type OpRecord, Slot, type Slots } from '../src/backend/plan.js';
import { GgmlType, ggmlTypeInfo } from '../src/gguf/index.js';
import { metalEmuLibrary } from './helpers/metal-emu.js';
import { kvRow } from './helpers/kv-layout.js';
import { SeededRandom } from './helpers/random.js';

/**
 * Every Metal kernel (metal/*.metal, run by the MSL emulator with the
 * geometry of src/backend/metal-geometry.ts) against the CPU executor on the
 * same random inputs, over shapes that are not multiples of the tiles.
 * Grids are sized for a larger batch than the one run (limits), so the
 * kernels' early exits past the live token count are exercised too.
 */
const lib = metalEmuLibrary();
const d = lib ? describe : describe.skip;

let cpu: Device;
let metal: Device;
beforeAll(() => {
  if (!lib) return;
  cpu = Device.open('cpu', 1);
  metal = Device.open('metal', 1);
});
afterAll(() => {
  cpu?.close();
  metal?.close();
});

const rnd = new SeededRandom(4321);
const SLOTS = (nTokens: number, pos0 = 0): Slots => [nTokens, pos0, 0, 0];
const randoms = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rnd.normal() * scale);

/** The same bytes in a fresh buffer on each device. */
interface Pair { cpu: Binding; metal: Binding; bytes: number }
function upload(bytes: Uint8Array | Float32Array | Int32Array): Pair {
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mk = (dev: Device): Binding => {
    const h = dev.newBuffer(u8.length);
    dev.contents(h).set(u8);
    return { buffer: h, offset: 0 };
  };
  return { cpu: mk(cpu), metal: mk(metal), bytes: u8.length };
}
const scratch = (floats: number): Pair => upload(new Float32Array(floats));
function readF32(dev: Device, b: Binding, floats: number): Float32Array {
  const buf = dev.contents(b.buffer);
  return new Float32Array(buf.buffer.slice(buf.byteOffset + b.offset, buf.byteOffset + b.offset + floats * 4));
}
function readBytes(dev: Device, b: Binding, n: number): Uint8Array {
  const buf = dev.contents(b.buffer);
  return new Uint8Array(buf.buffer.slice(buf.byteOffset + b.offset, buf.byteOffset + b.offset + n));
}

/** Runs `build` on both devices (eager dispatch); `pick` chooses each device's bindings. */
function both(build: (b: OpBuilder, side: 'cpu' | 'metal') => void, slots: Slots, maxTokens = slots[0] + 3): void {
  for (const side of ['cpu', 'metal'] as const) {
    const dev = side === 'cpu' ? cpu : metal;
    const b = new OpBuilder(dev, { [Slot.NTokens]: maxTokens, [Slot.Pos0]: 64, [Slot.NOut]: 1 });
    build(b, side);
    for (const op of b.ops) dev.dispatch(op, slots, true);
  }
}
function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) - tol * Math.max(1, Math.abs(want[i]!));
    if (!(e <= worst)) { worst = e; at = i; }
  }
  expect(worst, `${what}: index ${at} got ${got[at]} want ${want[at]}`).toBeLessThanOrEqual(0);
}
function compare(out: Pair, floats: number, tol: number, what: string): void {
  expectClose(readF32(metal, out.metal, floats), readF32(cpu, out.cpu, floats), tol, what);
}

const f32ToHalfBits = (x: number): number => {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const s = (u >>> 16) & 0x8000;
  const e = ((u >>> 23) & 0xff) - 127 + 15;
  const m = (u >>> 13) & 0x3ff;
  if (e <= 0) return s;
  return s | (e << 10) | m;
};

/** Random rows of a ggml type: random bits everywhere, finite small scales. */
const SCALE_OFFSETS: Partial<Record<number, number[]>> = {
  [GgmlType.Q4_0]: [0], [GgmlType.Q4_1]: [0, 2], [GgmlType.Q5_0]: [0], [GgmlType.Q5_1]: [0, 2], [GgmlType.Q8_0]: [0],
  [GgmlType.IQ4_NL]: [0], [GgmlType.Q2_K]: [80, 82], [GgmlType.Q3_K]: [108], [GgmlType.Q4_K]: [0, 2], [GgmlType.Q5_K]: [0, 2],
  [GgmlType.Q6_K]: [208], [GgmlType.IQ4_XS]: [0],
};
function randomRows(type: number, rows: number, cols: number): { data: Uint8Array; rowBytes: number } {
  const info = ggmlTypeInfo(type)!;
  const rowBytes = (cols / info.blockSize) * info.typeSize;
  const data = new Uint8Array(rows * rowBytes);
  if (type === GgmlType.F32) {
    data.set(new Uint8Array(randoms(rows * cols).buffer));
  } else if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const v = randoms(rows * cols);
    const dv = new DataView(data.buffer);
    for (let i = 0; i < v.length; i++) {
      const bits = type === GgmlType.F16 ? f32ToHalfBits(v[i]!) : new Uint32Array(new Float32Array([v[i]!]).buffer)[0]! >>> 16;
      dv.setUint16(2 * i, bits, true);
    }
  } else {
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd.uniform() * 256);
    const dv = new DataView(data.buffer);
    for (let b = 0; b < data.length / info.typeSize; b++)
      for (const off of SCALE_OFFSETS[type]!) dv.setUint16(b * info.typeSize + off, f32ToHalfBits(0.001 + rnd.uniform() * 0.05), true);
  }
  return { data, rowBytes };
}

function dequantCache(kv: KvType, bytes: Uint8Array, rows: number, cols: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(rows * cols);
  const half = (off: number): number => {
    const h = dv.getUint16(off, true);
    const e = (h >> 10) & 31, m = h & 1023, sgn = h & 0x8000 ? -1 : 1;
    return sgn * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
  };
  for (let i = 0; i < rows * cols; i++) {
    if (kv === 'f32') out[i] = dv.getFloat32(4 * i, true);
    else if (kv === 'f16') out[i] = half(2 * i);
    else {
      const blk = Math.floor(i / 32) * 34;
      out[i] = half(blk) * dv.getInt8(blk + 2 + (i % 32));
    }
  }
  return out;
}

const TYPES: Array<[string, number, number]> = [
  // name, type, a row length that is not a multiple of 32 blocks
  ['f32', GgmlType.F32, 100], ['f16', GgmlType.F16, 70], ['bf16', GgmlType.BF16, 36], ['q8_0', GgmlType.Q8_0, 96],
  ['q4_0', GgmlType.Q4_0, 160], ['q4_1', GgmlType.Q4_1, 64], ['q5_0', GgmlType.Q5_0, 96], ['q5_1', GgmlType.Q5_1, 64],
  ['iq4_nl', GgmlType.IQ4_NL, 96], ['q2_K', GgmlType.Q2_K, 256], ['q3_K', GgmlType.Q3_K, 256], ['q4_K', GgmlType.Q4_K, 512], ['q5_K', GgmlType.Q5_K, 256],
  ['q6_K', GgmlType.Q6_K, 512], ['iq4_xs', GgmlType.IQ4_XS, 256],
];

d('Metal kernels (MSL emulator) match the CPU executor', () => {
  it('rms_norm_f32', () => {
    for (const [n, t] of [[256, 3], [100, 5], [1000, 1]] as const) {
      const x = upload(randoms(n * t)), w = upload(randoms(n)), dst = scratch(n * t);
      both((b, s) => b.rmsNorm(x[s], w[s], dst[s], n, { slot: Slot.NTokens, scale: 1 }, 1e-5), SLOTS(t));
      compare(dst, n * t, 1e-5, `rms_norm ${n}x${t}`);
    }
  });

  it('add_f32, mul_f32 (broadcast) and swiglu_f32', () => {
    for (const [nB, t] of [[64, 3], [37, 5], [300, 1]] as const) {
      const n = nB * t;
      const a = upload(randoms(n)), bb = upload(randoms(nB)), c = upload(randoms(n));
      const o1 = scratch(n), o2 = scratch(n), o3 = scratch(n);
      both((b, s) => {
        b.add(a[s], bb[s], o1[s], { slot: Slot.NTokens, scale: nB }, nB);
        b.mul(a[s], bb[s], o2[s], { slot: Slot.NTokens, scale: nB }, nB);
        b.swiglu(a[s], c[s], o3[s], { slot: Slot.NTokens, scale: nB });
      }, SLOTS(t));
      compare(o1, n, 0, `add ${n}`);
      compare(o2, n, 0, `mul ${n}`);
      compare(o3, n, 1e-6, `swiglu ${n}`);
    }
  });

  it('rope_f32: modes 0 and 2, partial rotation, in place', () => {
    for (const [headDim, nDims, nHead, t, pos0, mode] of [[64, 64, 4, 3, 5, 0], [128, 96, 2, 2, 17, 2], [80, 80, 3, 1, 0, 2], [72, 32, 2, 4, 3, 0]] as const) {
      const x = randoms(t * nHead * headDim);
      const src = upload(x), dst = scratch(x.length), inplace = upload(x);
      const p = { headDim, nDims, nHead, mode, freqBase: 10000, freqScale: 0.5 };
      both((b, s) => {
        b.rope(src[s], dst[s], p);
        b.rope(inplace[s], inplace[s], p);
      }, SLOTS(t, pos0));
      compare(dst, x.length, 2e-6, `rope hd ${headDim} dims ${nDims} mode ${mode}`);
      compare(inplace, x.length, 2e-6, `rope in place hd ${headDim}`);
    }
  });

  it('soft_max_f32', () => {
    for (const [n, r] of [[100, 3], [1000, 2], [7, 5]] as const) {
      const x = upload(randoms(n * r, 3)), dst = scratch(n * r);
      both((b, s) => b.softmax(x[s], dst[s], n, { slot: Slot.NTokens, scale: 1 }, 0.7), SLOTS(r));
      compare(dst, n * r, 1e-5, `soft_max ${n}x${r}`);
    }
  });

  it.each(TYPES)('get_rows and mul_mv for %s', (_name, type, cols) => {
    const nRows = 11, t = 3;
    const { data, rowBytes } = randomRows(type, nRows, cols);
    const table = upload(data);
    const ids = upload(Int32Array.from([3, 0, 10, 7, 7]));
    const got = scratch(5 * cols);
    const wb = (p: Pair, s: 'cpu' | 'metal'): WeightBinding => ({ ...p[s], type, rowBytes });
    both((b, s) => b.getRows(wb(table, s), ids[s], got[s], cols, nRows, { slot: Slot.NTokens, scale: 1 }), SLOTS(5));
    compare(got, 5 * cols, 1e-6, `get_rows ${_name}`);

    // mul_mv against float64 dot products of the rows the CPU dequantizes
    const allIds = upload(Int32Array.from({ length: nRows }, (_, i) => i));
    const wf = scratch(nRows * cols);
    both((b, s) => b.getRows(wb(table, s), allIds[s], wf[s], cols, nRows, { slot: Slot.NTokens, scale: 1 }), SLOTS(nRows));
    const W = readF32(cpu, wf.cpu, nRows * cols);
    const xv = randoms(t * cols);
    const x = upload(xv), out = scratch(t * nRows);
    both((b, s) => b.mulMat(wb(table, s), x[s], out[s], cols, nRows, { slot: Slot.NTokens, scale: 1 }), SLOTS(t));
    const gotMv = readF32(metal, out.metal, t * nRows);
    for (let tok = 0; tok < t; tok++) {
      for (let r = 0; r < nRows; r++) {
        let dot = 0, mag = 0;
        for (let c = 0; c < cols; c++) {
          dot += W[r * cols + c]! * xv[tok * cols + c]!;
          mag += Math.abs(W[r * cols + c]! * xv[tok * cols + c]!);
        }
        expect(Math.abs(gotMv[tok * nRows + r]! - dot), `mul_mv ${_name} row ${r} token ${tok}`).toBeLessThanOrEqual(1e-5 * mag + 1e-30);
      }
    }
    // and loosely against the CPU executor (which quantizes activations for quantized weights)
    const cpuMv = readF32(cpu, out.cpu, t * nRows);
    const scale = Math.max(...cpuMv.map(Math.abs));
    for (let i = 0; i < cpuMv.length; i++) expect(Math.abs(gotMv[i]! - cpuMv[i]!)).toBeLessThanOrEqual(0.02 * scale);
  });

  it.each(TYPES.filter(([n]) => ['f32', 'f16', 'q8_0', 'q4_0', 'q4_K', 'q6_K', 'q3_K'].includes(n)))(
    'mul_mm (simdgroup_float8x8 prefill kernel) for %s: tiles with ragged edges', (_name, type, cols) => {
      for (const [nRows, t] of [[37, 45], [8, 3]] as const) {
        const { data, rowBytes } = randomRows(type, nRows, cols);
        const table = upload(data), x = upload(randoms(t * cols)), out = scratch(t * nRows);
        both((b, s) => {
          b.mulMat({ ...table[s], type, rowBytes }, x[s], out[s], cols, nRows, { slot: Slot.NTokens, scale: 1 });
          if (s === 'metal') {
            // the same op record, with the matrix-matrix kernel and its geometry
            const op = b.ops.pop()!;
            const mm = metalDispatch(`mul_mat_${_name}`, { n_cols: cols, n_rows: nRows, n_tokens: t + 3, row_bytes: rowBytes }, { prefill: true });
            const rec: OpRecord = { ...op, kernel: metal.kernel(mm.name), grid: mm.grid, threadgroup: mm.threadgroup };
            b.ops.push(rec);
          }
        }, SLOTS(t));
        // against mul_mv on the same device (same dequantization, f32 accumulation in another order)
        const mv = scratch(t * nRows);
        both((b, s) => b.mulMat({ ...table[s], type, rowBytes }, x[s], mv[s], cols, nRows, { slot: Slot.NTokens, scale: 1 }), SLOTS(t));
        const got = readF32(metal, out.metal, t * nRows), want = readF32(metal, mv.metal, t * nRows);
        const scale = Math.max(...want.map(Math.abs));
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `mul_mm ${_name} ${nRows}x${t} at ${i}`).toBeLessThanOrEqual(1e-5 * scale);
      }
    });

  it('moe_route_f32: top-k with ties to the lower expert, norm and scale (n_used 1, 2, 8)', () => {
    const cases = [[8, 2, 5, true, 1], [128, 8, 3, true, 2.5], [40, 8, 4, false, 1], [8, 1, 2, false, 0.5], [33, 2, 1, true, 1]] as const;
    for (const [nExpert, nUsed, t, norm, scale] of cases) {
      const logits = randoms(t * nExpert);
      // exact ties: repeat some values within each token's row
      for (let tok = 0; tok < t; tok++) {
        logits[tok * nExpert + nExpert - 1] = logits[tok * nExpert]!;
        logits[tok * nExpert + 3] = logits[tok * nExpert + 1]!;
      }
      const probs = new Float32Array(t * nExpert);
      for (let tok = 0; tok < t; tok++) {
        const row = logits.subarray(tok * nExpert, (tok + 1) * nExpert);
        const m = Math.max(...row);
        const sum = row.reduce((a, v) => a + Math.exp(v - m), 0);
        row.forEach((v, e) => { probs[tok * nExpert + e] = Math.exp(v - m) / sum; });
      }
      const pr = upload(probs), ids = upload(new Int32Array(t * nUsed)), w = scratch(t * nUsed);
      both((b, s) => b.moeRoute(pr[s], ids[s], w[s], { nExpert, nUsed, nTokens: { slot: Slot.NTokens, scale: 1 }, norm, scale }), SLOTS(t));
      const what = `moe_route ${nExpert} experts top-${nUsed} x${t}`;
      expect(readBytes(metal, ids.metal, t * nUsed * 4), what).toEqual(readBytes(cpu, ids.cpu, t * nUsed * 4));
      compare(w, t * nUsed, 1e-6, what);
    }
  });

  it.each(TYPES)('mul_mv_id (mul_mat_id) for %s: experts by ids, x per token and per slot', (_name, type, cols) => {
    for (const [nExpert, nUsed, nRows, t, xPerSlot] of [[4, 2, 11, 3, false], [8, 8, 9, 2, true], [8, 2, 5, 1, false]] as const) {
      const { data, rowBytes } = randomRows(type, nExpert * nRows, cols);
      const table = upload(data);
      const idv = Int32Array.from({ length: t * nUsed }, () => Math.floor(rnd.uniform() * nExpert));
      if (nUsed === nExpert) for (let tok = 0; tok < t; tok++) for (let s = 0; s < nUsed; s++) idv[tok * nUsed + s] = (s * 3 + tok) % nExpert;
      const ids = upload(idv);
      const xRows = xPerSlot ? t * nUsed : t;
      const xv = randoms(xRows * cols);
      const x = upload(xv), out = scratch(t * nUsed * nRows);
      const wb = (p: Pair, s: 'cpu' | 'metal'): WeightBinding => ({ ...p[s], type, rowBytes });
      both((b, s) => b.mulMatId(wb(table, s), ids[s], x[s], out[s],
        { nCols: cols, nRows, nExpert, nUsed, nTokens: { slot: Slot.NTokens, scale: 1 }, xPerSlot }), SLOTS(t));
      // against float64 dot products of the rows the CPU dequantizes
      const allIds = upload(Int32Array.from({ length: nExpert * nRows }, (_, i) => i));
      const wf = scratch(nExpert * nRows * cols);
      both((b, s) => b.getRows(wb(table, s), allIds[s], wf[s], cols, nExpert * nRows, { slot: Slot.NTokens, scale: 1 }), SLOTS(nExpert * nRows));
      const W = readF32(cpu, wf.cpu, nExpert * nRows * cols);
      const got = readF32(metal, out.metal, t * nUsed * nRows);
      const cpuOut = readF32(cpu, out.cpu, t * nUsed * nRows);
      const what = `mul_mv_id ${_name} ${nExpert}x${nRows} top-${nUsed} x${t}${xPerSlot ? ' per slot' : ''}`;
      for (let pair = 0; pair < t * nUsed; pair++) {
        const e = idv[pair]!, xr = xPerSlot ? pair : Math.floor(pair / nUsed);
        const xMax = Math.max(...xv.subarray(xr * cols, (xr + 1) * cols).map(Math.abs));
        for (let r = 0; r < nRows; r++) {
          let dot = 0, mag = 0, wAbs = 0;
          for (let c = 0; c < cols; c++) {
            const wc = W[(e * nRows + r) * cols + c]!;
            const prod = wc * xv[xr * cols + c]!;
            dot += prod;
            mag += Math.abs(prod);
            wAbs += Math.abs(wc);
          }
          const i = pair * nRows + r;
          expect(Math.abs(got[i]! - dot), `${what} pair ${pair} row ${r}`).toBeLessThanOrEqual(1e-5 * mag + 1e-30);
          // the CPU executor rounds activations to its vec_dot type (8 bits per block for quantized
          // weights, f16/bf16): within half a step of the row's largest |x| per element
          expect(Math.abs(got[i]! - cpuOut[i]!), `${what} vs CPU pair ${pair} row ${r}`).toBeLessThanOrEqual(wAbs * xMax / 200 + 1e-5 * mag);
        }
      }
    }
  });

  it('mul_mv_id: an expert id outside [0, n_expert) reads nothing and writes zeros', () => {
    const nExpert = 4, nUsed = 2, nRows = 9, cols = 64, t = 2;
    const { data, rowBytes } = randomRows(GgmlType.Q8_0, nExpert * nRows, cols);
    const table = upload(data), ids = upload(Int32Array.from([1, 4, -1, 3])), x = upload(randoms(t * cols));
    const out = upload(new Float32Array(t * nUsed * nRows).fill(7));
    const b = new OpBuilder(metal, { [Slot.NTokens]: t, [Slot.Pos0]: 64, [Slot.NOut]: 1 });
    b.mulMatId({ ...table.metal, type: GgmlType.Q8_0, rowBytes }, ids.metal, x.metal, out.metal,
      { nCols: cols, nRows, nExpert, nUsed, nTokens: { slot: Slot.NTokens, scale: 1 }, xPerSlot: false });
    for (const op of b.ops) metal.dispatch(op, SLOTS(t), true);
    const got = readF32(metal, out.metal, t * nUsed * nRows);
    for (const pair of [1, 2]) expect(Array.from(got.subarray(pair * nRows, (pair + 1) * nRows))).toEqual(new Array(nRows).fill(0));
    for (const pair of [0, 3]) expect(got.subarray(pair * nRows, (pair + 1) * nRows).some((v) => v !== 0 && v !== 7)).toBe(true);
  });

  it('moe_sum_f32: products rounded, added left to right, as the CPU', () => {
    for (const [nCols, nUsed, t] of [[256, 2, 3], [300, 8, 2], [7, 1, 4]] as const) {
      const e = upload(randoms(t * nUsed * nCols)), w = upload(Float32Array.from(randoms(t * nUsed), Math.abs)), dst = scratch(t * nCols);
      both((b, s) => b.moeSum(e[s], w[s], dst[s], nCols, nUsed, { slot: Slot.NTokens, scale: 1 }), SLOTS(t));
      compare(dst, t * nCols, 0, `moe_sum ${nCols} top-${nUsed} x${t}`);
    }
  });

  // nCtx 1100: two blocks of positions (KV_BLOCK_ROWS), the second of 76
  it.each([
    ['f32', 16, [[5, 0], [1, 5], [3, 6]]], ['f16', 16, [[5, 0], [1, 5], [3, 6]]], ['q8_0', 16, [[5, 0], [1, 5], [3, 6]]],
    ['f16', 1100, [[4, 1021], [1, 1025], [2, 1098]]], ['q8_0', 1100, [[3, 1022], [1, 1099]]],
  ] as const)('KV store and attention, %s cache of %i positions: prefill then decode, GQA', (kv: KvType, nCtx: number, steps: readonly (readonly [number, number])[]) => {
    const nHead = 4, nHeadKV = 2, headDim = 64, kvDim = nHeadKV * headDim;
    const rowBytes = kv === 'f32' ? kvDim * 4 : kv === 'f16' ? kvDim * 2 : (kvDim / 32) * 34;
    const kc = upload(new Uint8Array(nCtx * rowBytes)), vc = upload(new Uint8Array(nCtx * rowBytes));
    for (const [t, pos0] of steps) {
      const q = upload(randoms(t * nHead * headDim)), k = upload(randoms(t * kvDim)), v = upload(randoms(t * kvDim));
      const dst = scratch(t * nHead * headDim);
      both((b, s) => {
        b.kvStore(k[s], kc[s], kv, { nHeadKV, headDim, nCtx });
        b.kvStore(v[s], vc[s], kv, { nHeadKV, headDim, nCtx });
        b.attention(q[s], kc[s], vc[s], dst[s], kv, { nHead, nHeadKV, headDim, nCtx, scale: 1 / 8 });
      }, SLOTS(t, pos0));
      if (kv === 'f32') {
        expect(readBytes(metal, kc.metal, nCtx * rowBytes)).toEqual(readBytes(cpu, kc.cpu, nCtx * rowBytes));
      }
      // tight: float64 attention over the cache the Metal kernels stored
      // (head-major in blocks of positions: KV head g's row j at kvRow(g, j) * headDim)
      const qv = readF32(metal, q.metal, t * nHead * headDim);
      const K = dequantCache(kv, readBytes(metal, kc.metal, nCtx * rowBytes), nCtx, kvDim);
      const V = dequantCache(kv, readBytes(metal, vc.metal, nCtx * rowBytes), nCtx, kvDim);
      const want = new Float32Array(t * nHead * headDim);
      for (let tok = 0; tok < t; tok++) {
        for (let h = 0; h < nHead; h++) {
          const g = Math.floor(h / (nHead / nHeadKV));
          const sc: number[] = [];
          for (let j = 0; j <= pos0 + tok; j++) {
            let dot = 0;
            for (let e = 0; e < headDim; e++) dot += qv[(tok * nHead + h) * headDim + e]! * K[kvRow(g, j, nHeadKV, nCtx) * headDim + e]!;
            sc.push(dot / 8);
          }
          const m = Math.max(...sc);
          const w = sc.map((x) => Math.exp(x - m));
          const sum = w.reduce((a, b) => a + b, 0);
          for (let e = 0; e < headDim; e++) {
            let acc = 0;
            for (let j = 0; j < w.length; j++) acc += w[j]! * V[kvRow(g, j, nHeadKV, nCtx) * headDim + e]!;
            want[(tok * nHead + h) * headDim + e] = acc / sum;
          }
        }
      }
      expectClose(readF32(metal, dst.metal, want.length), want, 1e-5, `attn_${kv} vs float64, t=${t} pos0=${pos0}`);
      // loose: the CPU executor rounds Q, K, V and its accumulator to half (f16/f32 caches) or Q to 8 bits
      // (q8_0), as ggml's CPU flash attention does; the Metal kernel keeps them in f32
      compare(dst, t * nHead * headDim, kv === 'q8_0' ? 2e-2 : 5e-3, `attn_${kv} vs CPU, t=${t} pos0=${pos0}`);
    }
    if (kv !== 'f32') {
      // stored caches agree element-wise after dequantization, within one rounding step
      const rows = 9;
      const ids = upload(Int32Array.from({ length: rows }, (_, i) => i));
      const type = kv === 'f16' ? GgmlType.F16 : GgmlType.Q8_0;
      const o = scratch(rows * kvDim);
      both((b, s) => b.getRows({ ...kc[s], type, rowBytes }, ids[s], o[s], kvDim, nCtx, { slot: Slot.NTokens, scale: 1 }), SLOTS(rows));
      compare(o, rows * kvDim, kv === 'f16' ? 0 : 1e-2, `cache ${kv}`);
    }
  });
});
