import { GgufMetadata, type GgufFile } from '../gguf/index.js';
import { UserError } from '../cli/user-error.js';

/** Architectures the layer loop implements, by `general.architecture`. */
export const SUPPORTED_ARCHITECTURES = ['llama', 'qwen2', 'qwen3', 'qwen3moe'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/** ggml rope modes: llama rotates adjacent pairs, NeoX (qwen2/3) rotates halves. */
export enum RopeMode {
  Normal = 0,
  Neox = 2,
}

export interface HParams {
  readonly arch: Architecture;
  readonly nVocab: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nFF: number;
  readonly nHead: number;
  readonly nHeadKV: number;
  /** Per-head width of Q and K (`attention.key_length`, default n_embd / n_head). */
  readonly headDim: number;
  /** Rotated dims per head (`rope.dimension_count`). */
  readonly nRot: number;
  readonly nCtxTrain: number;
  readonly eps: number;
  readonly ropeBase: number;
  /** 1 / rope.scaling.factor for linear scaling, else 1. */
  readonly ropeFreqScale: number;
  readonly ropeMode: RopeMode;
  /** Mixture of experts: 0 for a dense FFN (`expert_count`). */
  readonly nExpert: number;
  /** Experts each token runs (`expert_used_count`), 0 when dense. */
  readonly nExpertUsed: number;
  /** Rows of one expert's gate/up (`expert_feed_forward_length`, else n_ff, or n_ff / n_used for qwen3moe). */
  readonly nFFExp: number;
  /** Rows of the shared experts' gate/up (`expert_shared_feed_forward_length`), 0 when none. */
  readonly nFFShexp: number;
  /** Renormalise the selected experts' weights to sum 1 (llama.cpp does for llama and qwen3moe). */
  readonly expertWeightsNorm: boolean;
}

/**
 * Hyper-parameters from llama.cpp's metadata keys. Anything missing or
 * inconsistent is a UserError naming the key, before any native call.
 */
export function readHParams(file: GgufFile): HParams {
  const meta = new GgufMetadata(file);
  const arch = meta.architecture;
  if (arch === undefined) throw new UserError(`${file.path}: no general.architecture in the file`);
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new UserError(`${file.path}: architecture "${arch}" is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const need = (suffix: string): number => {
    const v = meta.number(`${arch}.${suffix}`);
    if (v === undefined) throw new UserError(`${file.path}: missing metadata ${arch}.${suffix}`);
    return v;
  };
  const opt = (suffix: string): number | undefined => meta.number(`${arch}.${suffix}`);
  const nEmbd = need('embedding_length');
  const nHead = need('attention.head_count');
  const nHeadKV = opt('attention.head_count_kv') ?? nHead;
  const headDim = opt('attention.key_length') ?? nEmbd / nHead;
  const valueDim = opt('attention.value_length') ?? headDim;
  const nVocab = meta.array('tokenizer.ggml.tokens')?.items.length
    ?? opt('vocab_size')
    ?? file.tensors.find((t) => t.name === 'token_embd.weight')?.dims[1];
  if (nVocab === undefined) throw new UserError(`${file.path}: cannot tell the vocabulary size`);
  const scalingType = meta.string(`${arch}.rope.scaling.type`);
  const scalingFactor = opt('rope.scaling.factor');
  if (scalingType !== undefined && scalingType !== 'none' && scalingType !== 'linear') {
    throw new UserError(`${file.path}: rope scaling "${scalingType}" is not supported (supported: none, linear)`);
  }
  const nExpert = opt('expert_count') ?? 0;
  const nExpertUsed = nExpert > 0 ? need('expert_used_count') : 0;
  const nFFDense = opt('feed_forward_length');
  if (nFFDense === undefined && nExpert === 0) need('feed_forward_length');
  const nFFExp = nExpert === 0 ? 0
    : opt('expert_feed_forward_length') ?? (arch === 'qwen3moe' && nFFDense !== undefined ? nFFDense / nExpertUsed : nFFDense);
  if (nFFExp === undefined) throw new UserError(`${file.path}: missing metadata ${arch}.expert_feed_forward_length`);
  if (arch === 'qwen3moe' && nExpert === 0) throw new UserError(`${file.path}: qwen3moe needs ${arch}.expert_count > 0`);
  const hp: HParams = {
    arch: arch as Architecture,
    nVocab,
    nEmbd,
    nLayer: need('block_count'),
    nFF: nFFDense ?? nFFExp,
    nHead,
    nHeadKV,
    headDim,
    nRot: opt('rope.dimension_count') ?? headDim,
    nCtxTrain: need('context_length'),
    eps: opt('attention.layer_norm_rms_epsilon') ?? 1e-5,
    ropeBase: opt('rope.freq_base') ?? 10000,
    ropeFreqScale: scalingType === 'linear' && scalingFactor ? 1 / scalingFactor : 1,
    ropeMode: arch === 'llama' ? RopeMode.Normal : RopeMode.Neox,
    nExpert,
    nExpertUsed,
    nFFExp,
    nFFShexp: nExpert > 0 ? opt('expert_shared_feed_forward_length') ?? 0 : 0,
    // llama.cpp's llama and qwen3moe graphs always renormalise; the key, where written, agrees.
    expertWeightsNorm: meta.bool(`${arch}.expert_weights_norm`) ?? true,
  };
  const bad = (what: string): never => {
    throw new UserError(`${file.path}: inconsistent hyper-parameters: ${what}`);
  };
  if (!Number.isInteger(headDim) || headDim <= 0) bad(`head dim ${headDim}`);
  if (valueDim !== headDim) bad(`value length ${valueDim} differs from key length ${headDim}`);
  if (nHeadKV <= 0 || nHead % nHeadKV !== 0) bad(`${nHead} heads are not a multiple of ${nHeadKV} KV heads`);
  if (hp.nRot > headDim || hp.nRot % 2 !== 0) bad(`rope.dimension_count ${hp.nRot} with head dim ${headDim}`);
  const maybeZero = new Set(['ropeMode', 'nExpert', 'nExpertUsed', 'nFFExp', 'nFFShexp']);
  for (const [k, v] of Object.entries(hp)) {
    if (!maybeZero.has(k) && typeof v === 'number' && !(v > 0)) bad(`${k} = ${v}`);
  }
  if (nExpert > 0) {
    if (!Number.isInteger(nExpertUsed) || nExpertUsed <= 0 || nExpertUsed > nExpert) bad(`expert_used_count ${nExpertUsed} with ${nExpert} experts`);
    if (!Number.isInteger(nFFExp) || nFFExp <= 0) bad(`expert feed-forward length ${nFFExp}`);
  }
  return hp;
}
