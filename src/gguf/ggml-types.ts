/**
 * Every ggml tensor type id llama.cpp defines (ggml/include/ggml.h), with the
 * block geometry needed to size tensor data. Ids that were removed upstream
 * keep their slot so old files still name them; unknown ids become
 * `unknown(ID)` instead of failing.
 */
export interface GgmlTypeInfo {
  readonly id: number;
  /** ggml's own spelling, upper-cased as llama.cpp prints it in model info (Q4_K, IQ4_XS). */
  readonly name: string;
  /** Elements per block (1 for plain scalars). */
  readonly blockSize: number;
  /** Bytes per block; 0 where the type was removed and its data cannot be sized. */
  readonly typeSize: number;
  /** Removed upstream: readable by name only. */
  readonly removed?: boolean;
}

const QK_K = 256;

const TABLE: readonly GgmlTypeInfo[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4 },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2 },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20 },
  { id: 4, name: 'Q4_2', blockSize: 0, typeSize: 0, removed: true },
  { id: 5, name: 'Q4_3', blockSize: 0, typeSize: 0, removed: true },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { id: 10, name: 'Q2_K', blockSize: QK_K, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: QK_K, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: QK_K, typeSize: 144 },
  { id: 13, name: 'Q5_K', blockSize: QK_K, typeSize: 176 },
  { id: 14, name: 'Q6_K', blockSize: QK_K, typeSize: 210 },
  { id: 15, name: 'Q8_K', blockSize: QK_K, typeSize: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: QK_K, typeSize: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: QK_K, typeSize: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: QK_K, typeSize: 98 },
  { id: 19, name: 'IQ1_S', blockSize: QK_K, typeSize: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 18 },
  { id: 21, name: 'IQ3_S', blockSize: QK_K, typeSize: 110 },
  { id: 22, name: 'IQ2_S', blockSize: QK_K, typeSize: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: QK_K, typeSize: 136 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1 },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2 },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4 },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8 },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8 },
  { id: 29, name: 'IQ1_M', blockSize: QK_K, typeSize: 56 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2 },
  { id: 31, name: 'Q4_0_4_4', blockSize: 0, typeSize: 0, removed: true },
  { id: 32, name: 'Q4_0_4_8', blockSize: 0, typeSize: 0, removed: true },
  { id: 33, name: 'Q4_0_8_8', blockSize: 0, typeSize: 0, removed: true },
  { id: 34, name: 'TQ1_0', blockSize: QK_K, typeSize: 54 },
  { id: 35, name: 'TQ2_0', blockSize: QK_K, typeSize: 66 },
  { id: 36, name: 'IQ4_NL_4_4', blockSize: 0, typeSize: 0, removed: true },
  { id: 37, name: 'IQ4_NL_4_8', blockSize: 0, typeSize: 0, removed: true },
  { id: 38, name: 'IQ4_NL_8_8', blockSize: 0, typeSize: 0, removed: true },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 17 },
  { id: 40, name: 'NVFP4', blockSize: 64, typeSize: 36 },
  { id: 41, name: 'Q1_0', blockSize: 128, typeSize: 18 },
  { id: 42, name: 'Q2_0', blockSize: 64, typeSize: 18 },
];

export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(TABLE.map((t) => [t.id, t]));

const BY_NAME: ReadonlyMap<string, GgmlTypeInfo> = new Map(TABLE.map((t) => [t.name, t]));

/** Named ids used by code that computes (kept as constants so call sites read like ggml). */
export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15,
  IQ4_NL: 20, IQ4_XS: 23, BF16: 30,
} as const;

export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return GGML_TYPES.get(id);
}

export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** `Q4_K`, or `unknown(99)` for an id llama.cpp does not define. */
export function ggmlTypeName(id: number): string {
  return GGML_TYPES.get(id)?.name ?? `unknown(${id})`;
}

/** ggml's lower-case kernel spelling: q4_K, iq4_xs, f16 (used in kernel names). */
export function ggmlKernelSuffix(id: number): string {
  const name = ggmlTypeName(id);
  return name.replace(/^([A-Z0-9]+)(_K)?(.*)$/, (_m, a: string, k: string | undefined, rest: string) =>
    a.toLowerCase() + (k ?? '') + rest.toLowerCase());
}

/**
 * Bytes of a tensor of `elements` values of type `id`, or undefined where the
 * type cannot be sized (unknown or removed) or the count is not whole blocks.
 */
export function ggmlTensorBytes(id: number, elements: bigint): bigint | undefined {
  const t = GGML_TYPES.get(id);
  if (!t || t.blockSize === 0) return undefined;
  const bs = BigInt(t.blockSize);
  if (elements % bs !== 0n) return undefined;
  return (elements / bs) * BigInt(t.typeSize);
}

/** llama.cpp's LLAMA_FTYPE names for `general.file_type`. */
const FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'ALL_F32', 1: 'MOSTLY_F16', 2: 'MOSTLY_Q4_0', 3: 'MOSTLY_Q4_1', 4: 'MOSTLY_Q4_1_SOME_F16',
  7: 'MOSTLY_Q8_0', 8: 'MOSTLY_Q5_0', 9: 'MOSTLY_Q5_1', 10: 'MOSTLY_Q2_K', 11: 'MOSTLY_Q3_K_S',
  12: 'MOSTLY_Q3_K_M', 13: 'MOSTLY_Q3_K_L', 14: 'MOSTLY_Q4_K_S', 15: 'MOSTLY_Q4_K_M',
  16: 'MOSTLY_Q5_K_S', 17: 'MOSTLY_Q5_K_M', 18: 'MOSTLY_Q6_K', 19: 'MOSTLY_IQ2_XXS',
  20: 'MOSTLY_IQ2_XS', 21: 'MOSTLY_Q2_K_S', 22: 'MOSTLY_IQ3_XS', 23: 'MOSTLY_IQ3_XXS',
  24: 'MOSTLY_IQ1_S', 25: 'MOSTLY_IQ4_NL', 26: 'MOSTLY_IQ3_S', 27: 'MOSTLY_IQ3_M',
  28: 'MOSTLY_IQ2_S', 29: 'MOSTLY_IQ2_M', 30: 'MOSTLY_IQ4_XS', 31: 'MOSTLY_IQ1_M',
  32: 'MOSTLY_BF16', 36: 'MOSTLY_TQ1_0', 37: 'MOSTLY_TQ2_0', 38: 'MOSTLY_MXFP4_MOE',
  39: 'MOSTLY_NVFP4', 40: 'MOSTLY_Q1_0', 41: 'MOSTLY_Q2_0', 1024: 'GUESSED',
};

export function llamaFileTypeName(ftype: number): string {
  return FILE_TYPES[ftype] ?? `unknown(${ftype})`;
}
