/**
 * Dequantization of every weight type the kernels compute on, written plainly
 * from ggml's block layouts (ggml-common.h). Float arithmetic is rounded to
 * float32 after every operation (Math.fround) in the order ggml's own
 * dequantize_row_* uses, so the results are bit-identical to ggml's, which
 * the dequant test checks. Speed is not a goal.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { GgmlType, type GgufFile, type GgufTensorInfo, ggmlTypeInfo, ggmlTypeName } from '../../src/gguf/index.js';
import { bf16ToF32, f16ToF32 } from './half.js';

const f = Math.fround;
const QK_K = 256;

/** Little-endian reads over a block's bytes. */
class Bytes {
  private readonly view: DataView;
  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  u8(at: number): number {
    return this.data[at]!;
  }
  i8(at: number): number {
    return this.view.getInt8(at);
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  f16(at: number): number {
    return f16ToF32(this.view.getUint16(at, true));
  }
}

type RowDequantizer = (src: Bytes, out: Float32Array) => void;

/** F32: plain little-endian floats. */
function dequantF32(src: Bytes, out: Float32Array): void {
  const view = new DataView(src.data.buffer, src.data.byteOffset, src.data.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
}

/** F16: IEEE half per element. */
function dequantF16(src: Bytes, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = src.f16(2 * i);
}

/** BF16: the top 16 bits of a float32 per element. */
function dequantBF16(src: Bytes, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = bf16ToF32(src.u16(2 * i));
}

/**
 * block_q4_0 (18 bytes, 32 weights): half d; u8 qs[16].
 * Weight j (j < 16) is the low nibble of qs[j], weight j + 16 its high nibble; value (q - 8) * d.
 */
function dequantQ4_0(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * 32 < out.length; b++) {
    const at = b * 18;
    const d = src.f16(at);
    for (let j = 0; j < 16; j++) {
      const q = src.u8(at + 2 + j);
      out[b * 32 + j] = f(((q & 0x0f) - 8) * d);
      out[b * 32 + j + 16] = f(((q >> 4) - 8) * d);
    }
  }
}

/** block_q4_1 (20 bytes, 32 weights): half d; half m; u8 qs[16]. Value q * d + m. */
function dequantQ4_1(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * 32 < out.length; b++) {
    const at = b * 20;
    const d = src.f16(at);
    const m = src.f16(at + 2);
    for (let j = 0; j < 16; j++) {
      const q = src.u8(at + 4 + j);
      out[b * 32 + j] = f(f((q & 0x0f) * d) + m);
      out[b * 32 + j + 16] = f(f((q >> 4) * d) + m);
    }
  }
}

/**
 * block_q5_0 (22 bytes, 32 weights): half d; u8 qh[4] (bit j = 5th bit of weight j); u8 qs[16].
 * Value (q - 16) * d.
 */
function dequantQ5_0(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * 32 < out.length; b++) {
    const at = b * 22;
    const d = src.f16(at);
    const qh = src.u32(at + 2);
    for (let j = 0; j < 16; j++) {
      const q = src.u8(at + 6 + j);
      const lo = (q & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * 32 + j] = f((lo - 16) * d);
      out[b * 32 + j + 16] = f((hi - 16) * d);
    }
  }
}

/** block_q5_1 (24 bytes, 32 weights): half d; half m; u8 qh[4]; u8 qs[16]. Value q * d + m. */
function dequantQ5_1(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * 32 < out.length; b++) {
    const at = b * 24;
    const d = src.f16(at);
    const m = src.f16(at + 2);
    const qh = src.u32(at + 4);
    for (let j = 0; j < 16; j++) {
      const q = src.u8(at + 8 + j);
      const lo = (q & 0x0f) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * 32 + j] = f(f(lo * d) + m);
      out[b * 32 + j + 16] = f(f(hi * d) + m);
    }
  }
}

/** block_q8_0 (34 bytes, 32 weights): half d; i8 qs[32]. Value q * d. */
function dequantQ8_0(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * 32 < out.length; b++) {
    const at = b * 34;
    const d = src.f16(at);
    for (let j = 0; j < 32; j++) out[b * 32 + j] = f(src.i8(at + 2 + j) * d);
  }
}

/**
 * block_q2_K (84 bytes, 256 weights): u8 scales[16] (low nibble scale, high nibble min,
 * one pair per 16 weights); u8 qs[64] (2-bit quants); half d; half dmin.
 * Each 128-weight half uses 32 bytes of qs; within it, bit pair `shift` of byte l
 * holds weight 32*(shift/2) + l (l < 32). Value d*scale*q - dmin*min.
 */
function dequantQ2_K(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * QK_K < out.length; b++) {
    const at = b * 84;
    const d = src.f16(at + 80);
    const dmin = src.f16(at + 82);
    let y = b * QK_K;
    let subBlock = 0;
    for (let half = 0; half < 2; half++) {
      const qs = at + 16 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = src.u8(at + subBlock++);
          const dl = f(d * (sc & 0x0f));
          const ml = f(dmin * (sc >> 4));
          for (let l = 0; l < 16; l++) {
            const q = (src.u8(qs + part * 16 + l) >> shift) & 3;
            out[y++] = f(f(dl * q) - ml);
          }
        }
      }
    }
  }
}

/**
 * The 16 six-bit scales of block_q3_K, packed in 12 bytes: scale j's low 4 bits are
 * the low (j < 8) or high (j >= 8) nibble of byte j % 8; its high 2 bits are bits
 * 2*floor(j/4) of byte 8 + j % 4. Stored with an offset of 32.
 */
function q3KScale(src: Bytes, scalesAt: number, j: number): number {
  const low = j < 8 ? src.u8(scalesAt + j) & 0x0f : src.u8(scalesAt + j - 8) >> 4;
  const high = (src.u8(scalesAt + 8 + (j % 4)) >> (2 * Math.floor(j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

/**
 * block_q3_K (110 bytes, 256 weights): u8 hmask[32] (3rd bit, inverted: a clear bit
 * subtracts 4); u8 qs[64] (low 2 bits, laid out as in q2_K); u8 scales[12]; half d.
 * Weight 128*half + 32*k + i (k = bit pair, i < 32) takes hmask[i] bit 4*half + k.
 */
function dequantQ3_K(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * QK_K < out.length; b++) {
    const at = b * 110;
    const hmask = at;
    const scalesAt = at + 96;
    const d = src.f16(at + 108);
    let y = b * QK_K;
    let subBlock = 0;
    for (let half = 0; half < 2; half++) {
      const qs = at + 32 + half * 32;
      for (let k = 0; k < 4; k++) {
        const shift = 2 * k;
        const hbit = 1 << (4 * half + k);
        for (let part = 0; part < 2; part++) {
          const dl = f(d * q3KScale(src, scalesAt, subBlock++));
          for (let l = 0; l < 16; l++) {
            const i = part * 16 + l;
            const low = (src.u8(qs + i) >> shift) & 3;
            const q = low - (src.u8(hmask + i) & hbit ? 0 : 4);
            out[y++] = f(dl * q);
          }
        }
      }
    }
  }
}

/**
 * The 8 six-bit (scale, min) pairs of block_q4_K / block_q5_K, packed in 12 bytes:
 * pairs 0-3 are the low 6 bits of bytes j and j + 4; pairs 4-7 take their low 4 bits
 * from the nibbles of byte j + 4 and their high 2 bits from the top bits of bytes j - 4 and j.
 */
function kScaleMin(src: Bytes, scalesAt: number, j: number): { scale: number; min: number } {
  const s = (i: number): number => src.u8(scalesAt + i);
  if (j < 4) return { scale: s(j) & 63, min: s(j + 4) & 63 };
  return {
    scale: (s(j + 4) & 0x0f) | ((s(j - 4) >> 6) << 4),
    min: (s(j + 4) >> 4) | ((s(j) >> 6) << 4),
  };
}

/**
 * block_q4_K (144 bytes, 256 weights): half d; half dmin; u8 scales[12]; u8 qs[128].
 * Each 64 weights use 32 bytes of qs: low nibbles first (sub-block 2c), then high
 * nibbles (sub-block 2c + 1). Value d*scale*q - dmin*min.
 */
function dequantQ4_K(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * QK_K < out.length; b++) {
    const at = b * 144;
    const d = src.f16(at);
    const dmin = src.f16(at + 2);
    let y = b * QK_K;
    for (let chunk = 0; chunk < 4; chunk++) {
      const qs = at + 16 + chunk * 32;
      for (let nibble = 0; nibble < 2; nibble++) {
        const { scale, min } = kScaleMin(src, at + 4, 2 * chunk + nibble);
        const dl = f(d * scale);
        const ml = f(dmin * min);
        for (let l = 0; l < 32; l++) {
          const q = (src.u8(qs + l) >> (4 * nibble)) & 0x0f;
          out[y++] = f(f(dl * q) - ml);
        }
      }
    }
  }
}

/**
 * block_q5_K (176 bytes, 256 weights): half d; half dmin; u8 scales[12]; u8 qh[32];
 * u8 qs[128]. As q4_K, plus a 5th bit: weight 32*s + l (sub-block s) takes bit s of qh[l].
 */
function dequantQ5_K(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * QK_K < out.length; b++) {
    const at = b * 176;
    const d = src.f16(at);
    const dmin = src.f16(at + 2);
    const qh = at + 16;
    let y = b * QK_K;
    for (let chunk = 0; chunk < 4; chunk++) {
      const qs = at + 48 + chunk * 32;
      for (let nibble = 0; nibble < 2; nibble++) {
        const subBlock = 2 * chunk + nibble;
        const { scale, min } = kScaleMin(src, at + 4, subBlock);
        const dl = f(d * scale);
        const ml = f(dmin * min);
        for (let l = 0; l < 32; l++) {
          const low = (src.u8(qs + l) >> (4 * nibble)) & 0x0f;
          const high = (src.u8(qh + l) >> subBlock) & 1;
          out[y++] = f(f(dl * (low | (high << 4))) - ml);
        }
      }
    }
  }
}

/**
 * block_q6_K (210 bytes, 256 weights): u8 ql[128] (low 4 bits); u8 qh[64] (high 2 bits);
 * i8 scales[16] (one per 16 weights); half d. Per 128-weight half (64 bytes of ql,
 * 32 of qh): weight 32*k + l takes nibble k/2 of ql[l + 32*(k%2)] and bit pair k of qh[l].
 * Value d*scale*(q - 32).
 */
function dequantQ6_K(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * QK_K < out.length; b++) {
    const at = b * 210;
    const d = src.f16(at + 208);
    for (let half = 0; half < 2; half++) {
      const ql = at + half * 64;
      const qh = at + 128 + half * 32;
      const scales = at + 192 + half * 8;
      for (let k = 0; k < 4; k++) {
        for (let l = 0; l < 32; l++) {
          const low = (src.u8(ql + l + 32 * (k % 2)) >> (4 * Math.floor(k / 2))) & 0x0f;
          const high = (src.u8(qh + l) >> (2 * k)) & 3;
          const q = (low | (high << 4)) - 32;
          const scale = src.i8(scales + 2 * k + Math.floor(l / 16));
          out[b * QK_K + half * 128 + 32 * k + l] = f(f(d * scale) * q);
        }
      }
    }
  }
}

/** The 16 non-linear levels shared by IQ4_NL and IQ4_XS. */
const IQ4_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** block_iq4_nl (18 bytes, 32 weights): half d; u8 qs[16], nibbles as in q4_0. Value d * level[q]. */
function dequantIQ4_NL(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * 32 < out.length; b++) {
    const at = b * 18;
    const d = src.f16(at);
    for (let j = 0; j < 16; j++) {
      const q = src.u8(at + 2 + j);
      out[b * 32 + j] = f(d * IQ4_LEVELS[q & 0x0f]!);
      out[b * 32 + j + 16] = f(d * IQ4_LEVELS[q >> 4]!);
    }
  }
}

/**
 * block_iq4_xs (136 bytes, 256 weights): half d; u16 scales_h (2 high bits per
 * sub-block); u8 scales_l[4] (a low nibble per sub-block); u8 qs[128]. Eight 32-weight
 * sub-blocks, each with a 6-bit scale stored with an offset of 32 and nibbles as in iq4_nl.
 */
function dequantIQ4_XS(src: Bytes, out: Float32Array): void {
  for (let b = 0; b * QK_K < out.length; b++) {
    const at = b * 136;
    const d = src.f16(at);
    const scalesHigh = src.u16(at + 2);
    for (let sub = 0; sub < 8; sub++) {
      const low = (src.u8(at + 4 + (sub >> 1)) >> (4 * (sub % 2))) & 0x0f;
      const high = (scalesHigh >> (2 * sub)) & 3;
      const dl = f(d * ((low | (high << 4)) - 32));
      const qs = at + 8 + sub * 16;
      const y = b * QK_K + sub * 32;
      for (let j = 0; j < 16; j++) {
        const q = src.u8(qs + j);
        out[y + j] = f(dl * IQ4_LEVELS[q & 0x0f]!);
        out[y + j + 16] = f(dl * IQ4_LEVELS[q >> 4]!);
      }
    }
  }
}

const DEQUANTIZERS: ReadonlyMap<number, RowDequantizer> = new Map([
  [GgmlType.F32, dequantF32],
  [GgmlType.F16, dequantF16],
  [GgmlType.BF16, dequantBF16],
  [GgmlType.Q4_0, dequantQ4_0],
  [GgmlType.Q4_1, dequantQ4_1],
  [GgmlType.Q5_0, dequantQ5_0],
  [GgmlType.Q5_1, dequantQ5_1],
  [GgmlType.Q8_0, dequantQ8_0],
  [GgmlType.Q2_K, dequantQ2_K],
  [GgmlType.Q3_K, dequantQ3_K],
  [GgmlType.Q4_K, dequantQ4_K],
  [GgmlType.Q5_K, dequantQ5_K],
  [GgmlType.Q6_K, dequantQ6_K],
  [GgmlType.IQ4_NL, dequantIQ4_NL],
  [GgmlType.IQ4_XS, dequantIQ4_XS],
]);

/** ggml type ids the reference can dequantize. */
export const REFERENCE_TYPES: readonly number[] = [...DEQUANTIZERS.keys()];

/** Bytes that `elements` values of `type` occupy (whole blocks only). */
export function quantizedBytes(type: number, elements: number): number {
  const info = ggmlTypeInfo(type);
  if (!info || info.blockSize === 0) throw new Error(`reference: unknown ggml type ${type}`);
  if (elements % info.blockSize !== 0) {
    throw new Error(`reference: ${elements} ${info.name} values are not whole blocks of ${info.blockSize}`);
  }
  return (elements / info.blockSize) * info.typeSize;
}

/** Dequantize `elements` consecutive values of `type` (whole blocks) from `data`. */
export function dequantize(type: number, data: Uint8Array, elements: number): Float32Array {
  const dequantizer = DEQUANTIZERS.get(type);
  if (!dequantizer) throw new Error(`reference: no dequantizer for ${ggmlTypeName(type)}`);
  const need = quantizedBytes(type, elements);
  if (data.length < need) throw new Error(`reference: ${ggmlTypeName(type)} x ${elements} needs ${need} bytes, got ${data.length}`);
  const out = new Float32Array(elements);
  dequantizer(new Bytes(data.subarray(0, need)), out);
  return out;
}

function readBytes(file: GgufFile, tensor: GgufTensorInfo, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = openSync(file.path, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, tensor.fileOffset + offset + done);
      if (n === 0) throw new Error(`reference: ${file.path} ends inside tensor ${tensor.name}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A tensor's raw bytes, read from its file. */
export function readTensorBytes(file: GgufFile, tensor: GgufTensorInfo): Uint8Array {
  if (tensor.bytes === undefined) throw new Error(`reference: tensor ${tensor.name} has an unsizable type`);
  return readBytes(file, tensor, 0, tensor.bytes);
}

/** A whole tensor as float32, rows of dims[0] values one after another. */
export function dequantizeTensor(file: GgufFile, tensor: GgufTensorInfo): Float32Array {
  return dequantize(tensor.type, readTensorBytes(file, tensor), tensor.elements);
}

/** Row `row` of a tensor (dims[0] values) as float32, reading only that row from the file. */
export function dequantizeTensorRow(file: GgufFile, tensor: GgufTensorInfo, row: number): Float32Array {
  const rowLength = tensor.dims[0] ?? 1;
  const rows = tensor.elements / rowLength;
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new Error(`reference: ${tensor.name} has no row ${row} (${rows} rows)`);
  const rowBytes = quantizedBytes(tensor.type, rowLength);
  return dequantize(tensor.type, readBytes(file, tensor, row * rowBytes, rowBytes), rowLength);
}
