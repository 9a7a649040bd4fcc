import { describe, expect, it } from 'vitest';
import { GgmlType, ggmlTypeInfo, ggmlTypeName, readGguf } from '../src/gguf/index.js';
import { ggmlBaseLibrary, ggmlDequantize, ggmlQuantize } from './helpers/ggml-native.js';
import { SeededRandom } from './helpers/random.js';
import { sharedFile } from './helpers/shared.js';
import {
  REFERENCE_TYPES,
  dequantize,
  dequantizeTensor,
  dequantizeTensorRow,
  quantizedBytes,
  readTensorBytes,
} from './reference/dequant.js';

const ROWS = 6;
const ROW_LENGTH = 512; // two K-quant super-blocks, sixteen 32-blocks

/**
 * Byte offsets of the half-precision scale fields in one block: random block
 * bytes get finite values there, since NaN payloads are not worth comparing.
 */
const HALF_FIELDS: ReadonlyMap<number, readonly number[]> = new Map([
  [GgmlType.Q4_0, [0]], [GgmlType.Q4_1, [0, 2]], [GgmlType.Q5_0, [0]], [GgmlType.Q5_1, [0, 2]],
  [GgmlType.Q8_0, [0]], [GgmlType.Q2_K, [80, 82]], [GgmlType.Q3_K, [108]], [GgmlType.Q4_K, [0, 2]],
  [GgmlType.Q5_K, [0, 2]], [GgmlType.Q6_K, [208]], [GgmlType.IQ4_NL, [0]], [GgmlType.IQ4_XS, [0]],
]);

/** Rows of very different magnitudes, one all-zero, one with an outlier: the quantizers' edge cases. */
function sampleWeights(seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const values = new Float32Array(ROWS * ROW_LENGTH);
  for (let r = 0; r < ROWS; r++) {
    const scale = r === 1 ? 0 : 10 ** (r - 3);
    for (let i = 0; i < ROW_LENGTH; i++) values[r * ROW_LENGTH + i] = rng.normal() * scale;
  }
  values[4 * ROW_LENGTH + 17] = 50;
  values[5 * ROW_LENGTH + 300] = -7;
  return values;
}

/** A half with a random sign and mantissa and an exponent that keeps it finite and not huge. */
function randomFiniteHalf(rng: SeededRandom): number {
  const exponent = 1 + Math.floor(rng.uniform() * 20);
  return (rng.uniform() < 0.5 ? 0x8000 : 0) | (exponent << 10) | Math.floor(rng.uniform() * 1024);
}

function randomBlocks(type: number, elements: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const bytes = rng.bytes(quantizedBytes(type, elements));
  const view = new DataView(bytes.buffer);
  if (type === GgmlType.F16) {
    for (let i = 0; i < elements; i++) view.setUint16(2 * i, randomFiniteHalf(rng), true);
  } else if (type === GgmlType.BF16) {
    // Exponent 0xff is Inf/NaN: clear its top bit.
    for (let i = 0; i < elements; i++) view.setUint16(2 * i, view.getUint16(2 * i, true) & 0xbfff, true);
  } else {
    const blockBytes = ggmlTypeInfo(type)!.typeSize;
    for (let at = 0; at < bytes.length; at += blockBytes) {
      for (const field of HALF_FIELDS.get(type) ?? []) view.setUint16(at + field, randomFiniteHalf(rng), true);
    }
  }
  return bytes;
}

function expectBitIdentical(ours: Float32Array, ggml: Float32Array, what: string): void {
  expect(ours.length).toBe(ggml.length);
  const a = new Uint32Array(ours.buffer, ours.byteOffset, ours.length);
  const b = new Uint32Array(ggml.buffer, ggml.byteOffset, ggml.length);
  const first = a.findIndex((bits, i) => bits !== b[i]);
  if (first >= 0) {
    expect.fail(`${what}: element ${first} is ${ours[first]}, ggml says ${ggml[first]}`);
  }
}

const library = ggmlBaseLibrary();
const computable = REFERENCE_TYPES.filter((t) => t !== GgmlType.F32);

describe.skipIf(!library)('reference dequantizers are bit-identical to ggml (libggml-base from node-llama-cpp)', () => {
  it.each(computable.map((t) => [ggmlTypeName(t), t] as const))('%s: data quantized by ggml', (name, type) => {
    const weights = sampleWeights(type * 7919 + 1);
    const bytes = ggmlQuantize(type, weights, ROWS, ROW_LENGTH, quantizedBytes(type, weights.length));
    const ggml = ggmlDequantize(type, bytes, weights.length);
    expectBitIdentical(dequantize(type, bytes, weights.length), ggml, name);
    // Each row on its own, as a kernel reads it.
    const rowBytes = quantizedBytes(type, ROW_LENGTH);
    const row3 = dequantize(type, bytes.subarray(3 * rowBytes, 4 * rowBytes), ROW_LENGTH);
    expectBitIdentical(row3, ggml.subarray(3 * ROW_LENGTH, 4 * ROW_LENGTH), `${name} row 3`);
  });

  it.each(computable.map((t) => [ggmlTypeName(t), t] as const))('%s: random block bytes (every bit pattern of scales and quants)', (name, type) => {
    const elements = ROWS * ROW_LENGTH;
    const bytes = randomBlocks(type, elements, type * 104729 + 3);
    expectBitIdentical(dequantize(type, bytes, elements), ggmlDequantize(type, bytes, elements), name);
  });

  it('F32 reads back what was written', () => {
    const weights = sampleWeights(5);
    const bytes = new Uint8Array(weights.buffer.slice(0));
    expectBitIdentical(dequantize(GgmlType.F32, bytes, weights.length), weights, 'F32');
  });

  it('refuses a partial block and an unknown type', () => {
    expect(() => dequantize(GgmlType.Q4_K, new Uint8Array(144), 100)).toThrow(/whole blocks/);
    expect(() => dequantize(GgmlType.Q4_K, new Uint8Array(100), 256)).toThrow(/needs 144 bytes/);
    expect(() => dequantize(16 /* IQ2_XXS */, new Uint8Array(66), 256)).toThrow(/no dequantizer for IQ2_XXS/);
  });
});

const realFiles = ['models/llama-2L-256-random-Q4_K_M.gguf', 'models/tolstoy-tiny-Q5_0-mix.gguf'];

describe.skipIf(!library)('reference dequantizers on the tensors of real files', () => {
  it.each(realFiles)('%s: every tensor as ggml reads it; single rows as the whole tensor has them', (rel) => {
    const path = sharedFile(rel);
    if (!path) return;
    const file = readGguf(path);
    for (const tensor of file.tensors) {
      const ours = dequantizeTensor(file, tensor);
      const ggml = ggmlDequantize(tensor.type, readTensorBytes(file, tensor), tensor.elements);
      expectBitIdentical(ours, ggml, `${tensor.name} (${ggmlTypeName(tensor.type)})`);
      const rowLength = tensor.dims[0]!;
      const last = tensor.elements / rowLength - 1;
      for (const row of [0, last]) {
        expect(Array.from(dequantizeTensorRow(file, tensor, row))).toEqual(Array.from(ours.subarray(row * rowLength, (row + 1) * rowLength)));
      }
    }
  });
});
