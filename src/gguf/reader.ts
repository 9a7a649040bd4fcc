import { statSync } from 'node:fs';
import { GgufError, quoteName } from './errors.js';
import { ggmlTensorBytes, ggmlTypeInfo } from './ggml-types.js';
import { FileCursor } from './file-cursor.js';
import {
  type GgufArray,
  type GgufKV,
  type GgufValue,
  GgufValueType,
  minValueBytes,
  valueTypeName,
} from './value-types.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;
const GGML_MAX_DIMS = 4;
const INT64_MAX = (1n << 63n) - 1n;
/** No real key, tensor name or template is near this; a bigger one is a corrupt length. */
const MAX_STRING_BYTES = 512 * 1024 * 1024;
const MAX_NESTING = 8;

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the row length (ne0). */
  readonly dims: readonly number[];
  readonly type: number;
  /** Offset from the start of the data section. */
  readonly offset: number;
  /** Absolute offset in the file. */
  readonly fileOffset: number;
  readonly elements: number;
  /** Undefined where the type is unknown and cannot be sized. */
  readonly bytes: number | undefined;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly fileSize: number;
  readonly metadata: ReadonlyMap<string, GgufKV>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the (aligned) tensor data section. */
  readonly dataOffset: number;
  /** Bytes read from disk to parse the header (never the tensor data). */
  readonly headerBytesRead: number;
}

/**
 * Parse a GGUF file's header, metadata and tensor infos (v2 and v3,
 * little-endian) without reading tensor data. Throws GgufError, one line,
 * for anything malformed.
 */
export function readGguf(path: string): GgufFile {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new GgufError(path, 'no such file');
  }
  if (st.isDirectory()) throw new GgufError(path, 'is a directory, not a GGUF file');
  if (!st.isFile()) throw new GgufError(path, 'is not a regular file');

  const fail = (reason: string): never => {
    throw new GgufError(path, reason);
  };
  let cur: FileCursor;
  try {
    cur = new FileCursor(path, (what, needed, at) =>
      fail(`truncated: ${what} needs ${needed} bytes at offset ${at}, file has ${st.size}`));
  } catch (e) {
    if (e instanceof GgufError) throw e;
    throw new GgufError(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return parse(path, cur, fail);
  } finally {
    cur.close();
  }
}

function parse(path: string, cur: FileCursor, fail: (reason: string) => never): GgufFile {
  if (cur.size < 4) fail(`not a GGUF file (${cur.size} bytes)`);
  const magic = cur.u32('magic');
  if (magic !== GGUF_MAGIC) {
    fail(`not a GGUF file (magic 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF")`);
  }
  const version = cur.u32('version');
  if (version === 1) fail('GGUF version 1 is not supported (re-convert the model with a current llama.cpp)');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    if (swapped === 2 || swapped === 3) fail('big-endian GGUF files are not supported');
    fail(`unsupported GGUF version ${version} (supported: 2, 3)`);
  }
  const nTensors = cur.u64('tensor count');
  const nKV = cur.u64('metadata count');
  // 13 = smallest key/value (8-byte length, 1-byte key, 4-byte type, 1-byte value, minus key char: bound only).
  if (nKV > BigInt(Math.floor(cur.remaining / 13))) {
    fail(`metadata count ${nKV} is larger than the file can hold`);
  }

  const readString = (what: string): string => {
    const len = cur.u64(`${what} length`);
    if (len > BigInt(cur.remaining)) fail(`${what} length ${len} runs past the end of the file`);
    if (len > BigInt(MAX_STRING_BYTES)) fail(`${what} length ${len} is implausibly large`);
    return cur.utf8(Number(len), what);
  };

  const readValue = (type: number, what: string, depth: number): GgufValue => {
    switch (type) {
      case GgufValueType.UINT8: return cur.u8(what);
      case GgufValueType.INT8: return cur.i8(what);
      case GgufValueType.UINT16: return cur.u16(what);
      case GgufValueType.INT16: return cur.i16(what);
      case GgufValueType.UINT32: return cur.u32(what);
      case GgufValueType.INT32: return cur.i32(what);
      case GgufValueType.FLOAT32: return cur.f32(what);
      case GgufValueType.FLOAT64: return cur.f64(what);
      case GgufValueType.UINT64: return cur.u64(what);
      case GgufValueType.INT64: return cur.i64(what);
      case GgufValueType.BOOL: {
        const b = cur.u8(what);
        if (b > 1) fail(`${what}: invalid bool value ${b}`);
        return b === 1;
      }
      case GgufValueType.STRING: return readString(what);
      case GgufValueType.ARRAY: {
        if (depth >= MAX_NESTING) fail(`${what}: arrays nested deeper than ${MAX_NESTING}`);
        const itemType = cur.u32(`${what} item type`);
        if (!(itemType in GgufValueType)) fail(`${what}: unknown array item type ${itemType}`);
        const n = cur.u64(`${what} count`);
        if (n > BigInt(Math.floor(cur.remaining / minValueBytes(itemType)))) {
          fail(`${what}: array count ${n} is larger than the file can hold`);
        }
        const items: GgufValue[] = [];
        for (let i = 0, count = Number(n); i < count; i++) items.push(readValue(itemType, what, depth + 1));
        const arr: GgufArray = { itemType, items };
        return arr;
      }
      default:
        return fail(`${what}: unknown metadata value type ${type}`);
    }
  };

  const metadata = new Map<string, GgufKV>();
  for (let i = 0, n = Number(nKV); i < n; i++) {
    const key = readString(`metadata key ${i}`);
    if (key.length === 0) fail(`metadata key ${i} is empty`);
    if (metadata.has(key)) fail(`duplicate metadata key ${quoteName(key)}`);
    const type = cur.u32(`type of ${quoteName(key)}`);
    if (!(type in GgufValueType)) fail(`metadata ${quoteName(key)} has unknown value type ${type}`);
    metadata.set(key, { type, value: readValue(type, `metadata ${quoteName(key)}`, 0) });
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKV = metadata.get('general.alignment');
  if (alignKV) {
    const a = alignKV.value;
    if (alignKV.type !== GgufValueType.UINT32 || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0) {
      fail(`general.alignment must be a power-of-two uint32, got ${valueTypeName(alignKV.type)} ${String(a)}`);
    }
    alignment = a;
  }

  if (nTensors > BigInt(Math.floor(cur.remaining / 32))) {
    fail(`tensor count ${nTensors} is larger than the file can hold`);
  }
  interface RawTensor { name: string; dims: number[]; type: number; offset: bigint; elements: bigint }
  const raw: RawTensor[] = [];
  const names = new Set<string>();
  for (let i = 0, n = Number(nTensors); i < n; i++) {
    const name = readString(`tensor ${i} name`);
    if (names.has(name)) fail(`duplicate tensor name ${quoteName(name)}`);
    names.add(name);
    const nDims = cur.u32(`tensor ${quoteName(name)} dims`);
    if (nDims < 1 || nDims > GGML_MAX_DIMS) fail(`tensor ${quoteName(name)} has ${nDims} dimensions (1..${GGML_MAX_DIMS} allowed)`);
    const dims: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const ne = cur.i64(`tensor ${quoteName(name)} dim ${d}`);
      if (ne < 0n) fail(`tensor ${quoteName(name)} has a negative dimension ${ne}`);
      elements *= ne;
      if (elements > INT64_MAX) fail(`tensor ${quoteName(name)} dimensions overflow (product exceeds 2^63)`);
      dims.push(Number(ne));
    }
    const type = cur.u32(`tensor ${quoteName(name)} type`);
    const offset = cur.u64(`tensor ${quoteName(name)} offset`);
    raw.push({ name, dims, type, offset, elements });
  }

  const dataOffset = Math.ceil(cur.position / alignment) * alignment;
  const dataSize = BigInt(cur.size) - BigInt(Math.min(dataOffset, cur.size));
  const tensors: GgufTensorInfo[] = raw.map((t) => {
    const info = ggmlTypeInfo(t.type);
    let bytes: bigint | undefined;
    if (info && !info.removed) {
      if (t.dims[0]! % info.blockSize !== 0) {
        fail(`tensor ${quoteName(t.name)}: row length ${t.dims[0]} is not a multiple of ${info.name}'s block size ${info.blockSize}`);
      }
      bytes = ggmlTensorBytes(t.type, t.elements);
    }
    if (t.offset % BigInt(alignment) !== 0n) {
      fail(`tensor ${quoteName(t.name)}: data offset ${t.offset} is not aligned to ${alignment}`);
    }
    if (t.offset + (bytes ?? 0n) > dataSize) {
      fail(`tensor ${quoteName(t.name)}: data [${t.offset}, ${t.offset + (bytes ?? 0n)}) lies outside the file's ${dataSize} data bytes (truncated file?)`);
    }
    return {
      name: t.name,
      dims: t.dims,
      type: t.type,
      offset: Number(t.offset),
      fileOffset: dataOffset + Number(t.offset),
      elements: Number(t.elements),
      bytes: bytes === undefined ? undefined : Number(bytes),
    };
  });

  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const next = byOffset[i]!;
    if (prev.bytes !== undefined && prev.offset + prev.bytes > next.offset) {
      fail(`tensors ${quoteName(prev.name)} and ${quoteName(next.name)} overlap`);
    }
  }

  return { path, version, fileSize: cur.size, metadata, tensors, alignment, dataOffset, headerBytesRead: cur.bytesRead };
}
