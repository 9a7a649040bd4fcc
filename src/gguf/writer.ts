import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { ggmlTensorBytes, ggmlTypeName } from './ggml-types.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from './reader.js';
import { FIXED_SIZE, type GgufArray, type GgufKV, type GgufValue, GgufValueType, isGgufArray } from './value-types.js';

export interface GgufTensorToWrite {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: number;
  /** The tensor's bytes; omit to leave a hole (a sparse file) of the right size. */
  readonly data?: Uint8Array;
}

export interface GgufToWrite {
  readonly version?: 2 | 3;
  readonly metadata: ReadonlyArray<readonly [string, GgufKV]> | ReadonlyMap<string, GgufKV>;
  readonly tensors: readonly GgufTensorToWrite[];
}

/** Helpers to build typed metadata values without spelling the enum each time. */
export const kv = {
  u8: (v: number): GgufKV => ({ type: GgufValueType.UINT8, value: v }),
  i8: (v: number): GgufKV => ({ type: GgufValueType.INT8, value: v }),
  u16: (v: number): GgufKV => ({ type: GgufValueType.UINT16, value: v }),
  i16: (v: number): GgufKV => ({ type: GgufValueType.INT16, value: v }),
  u32: (v: number): GgufKV => ({ type: GgufValueType.UINT32, value: v }),
  i32: (v: number): GgufKV => ({ type: GgufValueType.INT32, value: v }),
  f32: (v: number): GgufKV => ({ type: GgufValueType.FLOAT32, value: v }),
  f64: (v: number): GgufKV => ({ type: GgufValueType.FLOAT64, value: v }),
  u64: (v: bigint | number): GgufKV => ({ type: GgufValueType.UINT64, value: BigInt(v) }),
  i64: (v: bigint | number): GgufKV => ({ type: GgufValueType.INT64, value: BigInt(v) }),
  bool: (v: boolean): GgufKV => ({ type: GgufValueType.BOOL, value: v }),
  str: (v: string): GgufKV => ({ type: GgufValueType.STRING, value: v }),
  arr: (itemType: GgufValueType, items: readonly GgufValue[]): GgufKV => ({
    type: GgufValueType.ARRAY,
    value: { itemType, items } satisfies GgufArray,
  }),
};

/** Buffered sequential writer: metadata of big vocabularies is many small values. */
class Sink {
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  written = 0;
  constructor(private readonly fd: number) {}

  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }
  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }
  bytes(b: Uint8Array): void {
    if (b.length > this.buf.length) {
      this.flush();
      writeSync(this.fd, b);
    } else {
      this.room(b.length);
      this.buf.set(b, this.used);
      this.used += b.length;
    }
    this.written += b.length;
  }
  scalar(type: GgufValueType, v: GgufValue): void {
    const n = FIXED_SIZE[type];
    if (n === undefined) throw new Error(`not a scalar type ${type}`);
    this.room(n);
    const b = this.buf;
    const o = this.used;
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(v as number, o); break;
      case GgufValueType.INT8: b.writeInt8(v as number, o); break;
      case GgufValueType.UINT16: b.writeUInt16LE(v as number, o); break;
      case GgufValueType.INT16: b.writeInt16LE(v as number, o); break;
      case GgufValueType.UINT32: b.writeUInt32LE(v as number, o); break;
      case GgufValueType.INT32: b.writeInt32LE(v as number, o); break;
      case GgufValueType.FLOAT32: b.writeFloatLE(v as number, o); break;
      case GgufValueType.FLOAT64: b.writeDoubleLE(v as number, o); break;
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(v as bigint), o); break;
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(v as bigint), o); break;
      case GgufValueType.BOOL: b.writeUInt8(v ? 1 : 0, o); break;
      default: throw new Error(`not a scalar type ${type}`);
    }
    this.used += n;
    this.written += n;
  }
  string(s: string): void {
    const enc = Buffer.from(s, 'utf8');
    this.scalar(GgufValueType.UINT64, BigInt(enc.length));
    this.bytes(enc);
  }
  value(type: GgufValueType, v: GgufValue): void {
    if (type === GgufValueType.STRING) return this.string(v as string);
    if (type === GgufValueType.ARRAY) {
      if (!isGgufArray(v)) throw new Error('array value expected');
      this.scalar(GgufValueType.UINT32, v.itemType);
      this.scalar(GgufValueType.UINT64, BigInt(v.items.length));
      for (const item of v.items) this.value(v.itemType, item);
      return;
    }
    this.scalar(type, v);
  }
}

/**
 * Write a GGUF file. Tensor data is laid out in order, each tensor aligned to
 * `general.alignment` (default 32) as llama.cpp's writer does. Returns the
 * absolute offset of the data section.
 */
export function writeGguf(path: string, model: GgufToWrite): number {
  const entries = model.metadata instanceof Map ? [...model.metadata.entries()] : [...model.metadata];
  const alignKV = entries.find(([k]) => k === 'general.alignment')?.[1];
  const alignment = typeof alignKV?.value === 'number' ? alignKV.value : GGUF_DEFAULT_ALIGNMENT;
  const pad = (n: number): number => Math.ceil(n / alignment) * alignment;

  const sizes = model.tensors.map((t) => {
    const elements = t.dims.reduce((a, d) => a * BigInt(d), 1n);
    const bytes = ggmlTensorBytes(t.type, elements);
    if (bytes === undefined) throw new Error(`tensor ${t.name}: cannot size ${ggmlTypeName(t.type)} x ${t.dims.join('x')}`);
    if (t.data && BigInt(t.data.length) !== bytes) {
      throw new Error(`tensor ${t.name}: ${t.data.length} data bytes given, ${bytes} expected`);
    }
    return Number(bytes);
  });

  const fd = openSync(path, 'w');
  try {
    const out = new Sink(fd);
    out.scalar(GgufValueType.UINT32, GGUF_MAGIC);
    out.scalar(GgufValueType.UINT32, model.version ?? 3);
    out.scalar(GgufValueType.UINT64, BigInt(model.tensors.length));
    out.scalar(GgufValueType.UINT64, BigInt(entries.length));
    for (const [key, { type, value }] of entries) {
      out.string(key);
      out.scalar(GgufValueType.UINT32, type);
      out.value(type, value);
    }
    let offset = 0;
    model.tensors.forEach((t, i) => {
      out.string(t.name);
      out.scalar(GgufValueType.UINT32, t.dims.length);
      for (const d of t.dims) out.scalar(GgufValueType.INT64, BigInt(d));
      out.scalar(GgufValueType.UINT32, t.type);
      out.scalar(GgufValueType.UINT64, BigInt(offset));
      offset = pad(offset + sizes[i]!);
    });
    const dataOffset = pad(out.written);
    out.bytes(new Uint8Array(dataOffset - out.written));
    let pos = 0;
    model.tensors.forEach((t, i) => {
      if (t.data && t.data.length > 0) {
        out.flush();
        writeSync(fd, t.data, 0, t.data.length, dataOffset + pos);
      }
      pos = pad(pos + sizes[i]!);
    });
    out.flush();
    // The last tensor's padding is not written by llama.cpp either; the file ends at its data.
    const last = model.tensors.length > 0 ? pos - (pad(sizes.at(-1)!) - sizes.at(-1)!) : 0;
    ftruncateSync(fd, dataOffset + Math.max(last, 0));
    return dataOffset;
  } finally {
    closeSync(fd);
  }
}
