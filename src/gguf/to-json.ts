import type { GgufFile } from './reader.js';
import { ggmlTypeName } from './ggml-types.js';
import { type GgufValue, isGgufArray } from './value-types.js';

export type JsonValue = number | string | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** 64-bit integers become numbers where exact, strings otherwise, so JSON.parse keeps them. */
export function ggufValueToJson(v: GgufValue): JsonValue {
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (isGgufArray(v)) return v.items.map(ggufValueToJson);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

export function metadataToJson(file: GgufFile): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, { value }] of file.metadata) out[k] = ggufValueToJson(value);
  return out;
}

export function tensorsToJson(file: GgufFile): JsonValue[] {
  return file.tensors.map((t) => ({
    name: t.name,
    shape: [...t.dims],
    type: ggmlTypeName(t.type),
    type_id: t.type,
    offset: t.fileOffset,
    bytes: t.bytes ?? null,
  }));
}
