import { GgmlType, GgufValueType, kv, writeGguf, type GgufTensorToWrite } from '../../src/gguf/index.js';

/** Deterministic bytes: fixtures must be reproducible run to run. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

/** Every metadata value type once, including nested arrays and 64-bit extremes. */
export const ALL_VALUE_TYPES = [
  ['general.architecture', kv.str('llama')],
  ['general.name', kv.str('fixture — ünïcode ✓')],
  ['test.u8', kv.u8(255)],
  ['test.i8', kv.i8(-128)],
  ['test.u16', kv.u16(65535)],
  ['test.i16', kv.i16(-32768)],
  ['test.u32', kv.u32(4294967295)],
  ['test.i32', kv.i32(-2147483648)],
  ['test.f32', kv.f32(Math.fround(3.25))],
  ['test.f64', kv.f64(-1.5e300)],
  ['test.bool', kv.bool(true)],
  ['test.u64', kv.u64(18446744073709551615n)],
  ['test.i64', kv.i64(-9223372036854775808n)],
  ['test.empty_string', kv.str('')],
  ['test.strings', kv.arr(GgufValueType.STRING, ['a', '', 'ß', '<0x0A>'])],
  ['test.nested', kv.arr(GgufValueType.ARRAY, [
    { itemType: GgufValueType.INT32, items: [1, -2, 3] },
    { itemType: GgufValueType.STRING, items: ['x'] },
    { itemType: GgufValueType.ARRAY, items: [{ itemType: GgufValueType.BOOL, items: [true, false] }] },
  ])],
  ['llama.block_count', kv.u32(1)],
  ['llama.context_length', kv.u32(128)],
  ['llama.embedding_length', kv.u32(64)],
  ['llama.feed_forward_length', kv.u32(128)],
  ['llama.attention.head_count', kv.u32(4)],
  ['llama.attention.head_count_kv', kv.u32(2)],
  ['general.file_type', kv.u32(15)],
  ['tokenizer.ggml.model', kv.str('llama')],
  ['tokenizer.ggml.tokens', kv.arr(GgufValueType.STRING, ['<unk>', '<s>', '</s>', 'a', 'b'])],
] as const;

/** Tensors of several block geometries (scalar, 32-blocks, 256-blocks). */
export function fixtureTensors(seed = 1): GgufTensorToWrite[] {
  return [
    { name: 'token_embd.weight', dims: [64, 5], type: GgmlType.F16, data: seededBytes(64 * 5 * 2, seed) },
    { name: 'blk.0.attn_norm.weight', dims: [64], type: GgmlType.F32, data: seededBytes(256, seed + 1) },
    { name: 'blk.0.attn_q.weight', dims: [64, 64], type: GgmlType.Q8_0, data: seededBytes((64 * 64 / 32) * 34, seed + 2) },
    { name: 'blk.0.ffn_up.weight', dims: [256, 3], type: GgmlType.Q4_K, data: seededBytes(3 * 144, seed + 3) },
    { name: 'output.weight', dims: [64, 5], type: GgmlType.Q4_0, data: seededBytes(5 * 2 * 18, seed + 4) },
  ];
}

export function writeFixture(path: string, version: 2 | 3 = 3, alignment?: number): void {
  const metadata = alignment === undefined ? [...ALL_VALUE_TYPES] : [...ALL_VALUE_TYPES, ['general.alignment', kv.u32(alignment)] as const];
  writeGguf(path, { version, metadata, tensors: fixtureTensors() });
}
