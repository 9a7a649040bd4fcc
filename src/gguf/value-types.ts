/** GGUF metadata value types (gguf.h `enum gguf_type`), with their fixed sizes. */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** An array of GGUF values of one item type; nested arrays hold GgufArray items. */
export interface GgufArray {
  readonly itemType: GgufValueType;
  readonly items: readonly GgufValue[];
}

/** 64-bit integers stay bigint so a file round-trips exactly. */
export type GgufValue = number | bigint | boolean | string | GgufArray;

export interface GgufKV {
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

/** Bytes of a fixed-size scalar type; strings and arrays are variable. */
export const FIXED_SIZE: Readonly<Partial<Record<GgufValueType, number>>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Fewest bytes one value of `type` can occupy: bounds counts read from a header. */
export function minValueBytes(type: GgufValueType): number {
  if (type === GgufValueType.STRING) return 8;
  if (type === GgufValueType.ARRAY) return 12;
  return FIXED_SIZE[type] ?? 1;
}

export function isGgufArray(v: GgufValue): v is GgufArray {
  return typeof v === 'object' && v !== null && 'items' in v;
}

export function valueTypeName(t: GgufValueType): string {
  return GgufValueType[t]?.toLowerCase() ?? `unknown(${t})`;
}
