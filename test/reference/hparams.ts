import { type GgufFile, GgufMetadata } from '../../src/gguf/index.js';
import type { RopeMode } from './ops.js';

export const REFERENCE_ARCHS = ['llama', 'qwen2', 'qwen3'] as const;
export type ReferenceArch = (typeof REFERENCE_ARCHS)[number];

/** What the reference forward pass needs from a model's metadata, with llama.cpp's defaults. */
export interface ReferenceHParams {
  readonly arch: ReferenceArch;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nFf: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  /** Per-head width of Q, K and V (`attention.key_length`, default nEmbd / nHead). */
  readonly headDim: number;
  readonly rmsEps: number;
  readonly ropeMode: RopeMode;
  readonly ropeDims: number;
  readonly ropeBase: number;
  readonly ropeFreqScale: number;
  /** Per-head QK-norm before RoPE (qwen3). */
  readonly qkNorm: boolean;
}

function isReferenceArch(arch: string): arch is ReferenceArch {
  return (REFERENCE_ARCHS as readonly string[]).includes(arch);
}

/** Read and check the hyper-parameters; a missing or inconsistent key is a one-line error. */
export function readReferenceHParams(file: GgufFile): ReferenceHParams {
  const meta = new GgufMetadata(file);
  const arch = meta.architecture;
  if (arch === undefined) throw new Error(`reference: ${file.path} has no general.architecture`);
  if (!isReferenceArch(arch)) throw new Error(`reference: architecture "${arch}" is not one of ${REFERENCE_ARCHS.join(', ')}`);
  const required = (suffix: string): number => {
    const v = meta.archNumber(suffix);
    if (v === undefined) throw new Error(`reference: ${file.path} lacks ${arch}.${suffix}`);
    return v;
  };
  const nEmbd = required('embedding_length');
  const nHead = required('attention.head_count');
  const headDim = meta.archNumber('attention.key_length') ?? nEmbd / nHead;
  const valueDim = meta.archNumber('attention.value_length') ?? headDim;
  if (!Number.isInteger(headDim) || valueDim !== headDim) {
    throw new Error(`reference: head dims key ${headDim} / value ${valueDim} are not supported (equal integers only)`);
  }
  const scalingType = meta.string(`${arch}.rope.scaling.type`) ?? 'linear';
  if (scalingType !== 'linear' && scalingType !== 'none') {
    throw new Error(`reference: rope scaling "${scalingType}" is not supported (linear or none)`);
  }
  const scalingFactor = meta.archNumber('rope.scaling.factor') ?? meta.archNumber('rope.scale_linear') ?? 0;
  return {
    arch,
    nEmbd,
    nLayer: required('block_count'),
    nFf: required('feed_forward_length'),
    nHead,
    nHeadKv: meta.archNumber('attention.head_count_kv') ?? nHead,
    headDim,
    rmsEps: required('attention.layer_norm_rms_epsilon'),
    ropeMode: arch === 'llama' ? 'norm' : 'neox',
    ropeDims: meta.archNumber('rope.dimension_count') ?? headDim,
    ropeBase: meta.archNumber('rope.freq_base') ?? 10000,
    ropeFreqScale: scalingType === 'none' || scalingFactor === 0 ? 1 : 1 / scalingFactor,
    qkNorm: arch === 'qwen3',
  };
}
