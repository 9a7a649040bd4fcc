import { ggmlTypeName, GgufMetadata, type GgufFile } from '../gguf/index.js';

/** The model columns of a llama-bench row. */
export interface ModelInfo {
  /** The path as given on the command line (llama-bench's model_filename). */
  readonly filename: string;
  /** llama.cpp's model description: "llama 1B Q4_K - Medium". */
  readonly type: string;
  /** Bytes of tensor data (llama_model_size: the tensors, not the header). */
  readonly size: number;
  readonly nParams: number;
}

/** llama.cpp's printed names of `general.file_type` values (llama_ftype_name). */
const FTYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'all F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1',
  10: 'Q2_K - Medium', 11: 'Q3_K - Small', 12: 'Q3_K - Medium', 13: 'Q3_K - Large',
  14: 'Q4_K - Small', 15: 'Q4_K - Medium', 16: 'Q5_K - Small', 17: 'Q5_K - Medium', 18: 'Q6_K',
  19: 'IQ2_XXS - 2.0625 bpw', 20: 'IQ2_XS - 2.3125 bpw', 21: 'Q2_K - Small', 22: 'IQ3_XS - 3.3 bpw',
  23: 'IQ3_XXS - 3.0625 bpw', 24: 'IQ1_S - 1.5625 bpw', 25: 'IQ4_NL - 4.5 bpw', 26: 'IQ3_S - 3.4375 bpw',
  27: 'IQ3_S mix - 3.66 bpw', 28: 'IQ2_S - 2.5 bpw', 29: 'IQ2_M - 2.7 bpw', 30: 'IQ4_XS - 4.25 bpw',
  31: 'IQ1_M - 1.75 bpw', 32: 'BF16', 36: 'TQ1_0 - 1.69 bpw ternary', 37: 'TQ2_0 - 2.06 bpw ternary',
  38: 'MXFP4 MoE', 39: 'NVFP4', 40: 'Q1_0', 41: 'Q2_0',
};

/**
 * The file type as llama.cpp prints it. Without `general.file_type` llama.cpp
 * guesses from the most common tensor type; this does the same, by tensor count.
 */
function fileTypeName(file: GgufFile, meta: GgufMetadata): string {
  const ftype = meta.number('general.file_type');
  if (ftype !== undefined) return FTYPE_NAMES[ftype & ~1024] ?? 'unknown, may not work';
  const counts = new Map<number, number>();
  for (const t of file.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return `(guessed) ${top === undefined ? 'unknown, may not work' : ggmlTypeName(top[0])}`;
}

/**
 * The size label llama.cpp gives a model from its shape ("1B", "1.7B"), for
 * the architectures ferrum runs; "?B" where llama.cpp would not know either.
 */
function sizeLabel(arch: string | undefined, meta: GgufMetadata): string {
  const n = (suffix: string): number | undefined => (arch ? meta.number(`${arch}.${suffix}`) : undefined);
  const layers = n('block_count');
  const embd = n('embedding_length');
  const heads = n('attention.head_count');
  const headsKV = n('attention.head_count_kv') ?? heads;
  const experts = n('expert_count') ?? 0;
  const nVocab = meta.array('tokenizer.ggml.tokens')?.items.length ?? n('vocab_size') ?? 0;
  if (arch === 'llama') {
    if (experts === 8) return layers === 32 ? '8x7B' : layers === 56 ? '8x22B' : '?B';
    switch (layers) {
      case 16: case 22: return '1B';
      case 26: case 28: return '3B';
      case 30: return '256M';
      case 32: return nVocab === 49152 ? '3B' : nVocab < 40000 ? '7B' : '8B';
      case 36: return '8B';
      case 40: return '13B';
      case 48: return '34B';
      case 60: return '30B';
      case 80: return heads === headsKV ? '65B' : '70B';
      default: return '?B';
    }
  }
  if (arch === 'qwen2') {
    switch (layers) {
      case 24: return embd === 1024 ? '0.5B' : '1B';
      case 28: return embd === 1536 ? '1.5B' : '7B';
      case 32: return '7B';
      case 36: return '3B';
      case 40: return heads === 20 ? '4B' : '13B';
      case 48: return '14B';
      case 64: return '32B';
      case 80: return '70B';
      default: return '?B';
    }
  }
  if (arch === 'qwen3') {
    switch (layers) {
      case 28: return embd === 1024 ? '0.6B' : '1.7B';
      case 36: return embd === 2560 ? '4B' : '8B';
      case 40: return '14B';
      case 64: return '32B';
      default: return '?B';
    }
  }
  return '?B';
}

export function modelInfo(path: string, file: GgufFile): ModelInfo {
  const meta = new GgufMetadata(file);
  const arch = meta.architecture;
  let size = 0;
  let nParams = 0;
  for (const t of file.tensors) {
    nParams += t.elements;
    size += t.bytes ?? 0;
  }
  return {
    filename: path,
    type: `${arch ?? 'unknown'} ${sizeLabel(arch, meta)} ${fileTypeName(file, meta)}`,
    size,
    nParams,
  };
}
