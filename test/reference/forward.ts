/**
 * The reference forward pass for llama, qwen2 and qwen3: the oracle every
 * backend is checked against (DESIGN.md decision 6a). It follows llama.cpp's
 * graphs (src/models/llama.cpp, qwen2.cpp, qwen3.cpp) op by op on fully
 * dequantized weights, one position at a time, with no KV cache and nothing
 * shared with the kernels. For tiny models only.
 */
import type { GgufFile, GgufTensorInfo } from '../../src/gguf/index.js';
import { dequantizeTensor } from './dequant.js';
import { type ReferenceHParams, readReferenceHParams } from './hparams.js';
import {
  type Matrix,
  type RopeParams,
  add,
  causalAttention,
  embedding,
  matVec,
  rmsNorm,
  rmsNormSlices,
  rope,
  swiglu,
} from './ops.js';

export { type ReferenceArch, type ReferenceHParams, REFERENCE_ARCHS, readReferenceHParams } from './hparams.js';

/**
 * Called with each intermediate, named as llama.cpp's graph callbacks name
 * them (attn_norm, Qcur, Kcur, Vcur, kqv_out, attn_out, ffn_inp, ffn_norm,
 * ffn_out, l_out; result_norm and result_output with layer -1), one array per
 * position. Qcur and Kcur are given after QK-norm and RoPE.
 */
export type TensorTrace = (name: string, layer: number, values: readonly Float32Array[]) => void;

/** A model's tensors, dequantized on first use and kept. */
class ReferenceWeights {
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;
  private readonly cache = new Map<string, Float32Array>();

  constructor(private readonly file: GgufFile) {
    this.byName = new Map(file.tensors.map((t) => [t.name, t]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private values(tensor: GgufTensorInfo): Float32Array {
    let v = this.cache.get(tensor.name);
    if (!v) {
      v = dequantizeTensor(this.file, tensor);
      this.cache.set(tensor.name, v);
    }
    return v;
  }

  private tensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new Error(`reference: ${this.file.path} has no tensor ${name}`);
    return t;
  }

  /** A 2-D weight of `rows` rows of `cols` values (ggml dims [cols, rows]). */
  matrix(name: string, cols: number, rows: number): Matrix {
    const t = this.tensor(name);
    if (t.dims.length !== 2 || t.dims[0] !== cols || t.dims[1] !== rows) {
      throw new Error(`reference: ${name} has dims [${t.dims.join(', ')}], expected [${cols}, ${rows}]`);
    }
    return { rows, cols, data: this.values(t) };
  }

  vector(name: string, length: number): Float32Array {
    const t = this.tensor(name);
    if (t.elements !== length) throw new Error(`reference: ${name} has ${t.elements} values, expected ${length}`);
    return this.values(t);
  }

  optionalVector(name: string, length: number): Float32Array | undefined {
    return this.has(name) ? this.vector(name, length) : undefined;
  }
}

function withBias(y: Float32Array, bias: Float32Array | undefined): Float32Array {
  return bias ? add(y, bias) : y;
}

/** A loaded model: hyper-parameters plus lazily dequantized weights, reusable across forward passes. */
export class ReferenceModel {
  readonly hparams: ReferenceHParams;
  readonly nVocab: number;
  private readonly weights: ReferenceWeights;

  constructor(readonly file: GgufFile) {
    this.hparams = readReferenceHParams(file);
    this.weights = new ReferenceWeights(file);
    const embd = file.tensors.find((t) => t.name === 'token_embd.weight');
    if (!embd || embd.dims.length !== 2) throw new Error(`reference: ${file.path} has no 2-D token_embd.weight`);
    this.nVocab = embd.dims[1]!;
  }

  /** Logits at every position of `tokens` (positions 0..n-1, causal). */
  forward(tokens: readonly number[], trace?: TensorTrace): Float32Array[] {
    if (tokens.length === 0) throw new Error('reference: no tokens');
    const hp = this.hparams;
    const w = this.weights;
    const emit = trace ?? ((): void => {});
    const qWidth = hp.nHead * hp.headDim;
    const kvWidth = hp.nHeadKv * hp.headDim;
    const ropeFreqs = w.optionalVector('rope_freqs.weight', hp.ropeDims / 2);
    const ropeParams: RopeParams = {
      mode: hp.ropeMode,
      nDims: hp.ropeDims,
      base: hp.ropeBase,
      freqScale: hp.ropeFreqScale,
      ...(ropeFreqs ? { freqFactors: ropeFreqs } : {}),
    };
    const attention = { nHead: hp.nHead, nHeadKv: hp.nHeadKv, headDim: hp.headDim, scale: 1 / Math.sqrt(hp.headDim) };

    const tokEmbd = w.matrix('token_embd.weight', hp.nEmbd, this.nVocab);
    let hidden = tokens.map((t) => embedding(tokEmbd, t));

    for (let il = 0; il < hp.nLayer; il++) {
      const blk = (suffix: string): string => `blk.${il}.${suffix}`;
      const project = (x: readonly Float32Array[], name: string, cols: number, rows: number): Float32Array[] => {
        const m = w.matrix(blk(`${name}.weight`), cols, rows);
        const bias = w.optionalVector(blk(`${name}.bias`), rows);
        return x.map((v) => withBias(matVec(m, v), bias));
      };

      const attnNorm = w.vector(blk('attn_norm.weight'), hp.nEmbd);
      const normed = hidden.map((x) => rmsNorm(x, attnNorm, hp.rmsEps));
      emit('attn_norm', il, normed);

      let q = project(normed, 'attn_q', hp.nEmbd, qWidth);
      let k = project(normed, 'attn_k', hp.nEmbd, kvWidth);
      const v = project(normed, 'attn_v', hp.nEmbd, kvWidth);
      if (hp.qkNorm) {
        const qNorm = w.vector(blk('attn_q_norm.weight'), hp.headDim);
        const kNorm = w.vector(blk('attn_k_norm.weight'), hp.headDim);
        q = q.map((x) => rmsNormSlices(x, hp.headDim, qNorm, hp.rmsEps));
        k = k.map((x) => rmsNormSlices(x, hp.headDim, kNorm, hp.rmsEps));
      }
      q = q.map((x, pos) => rope(x, hp.headDim, pos, ropeParams));
      k = k.map((x, pos) => rope(x, hp.headDim, pos, ropeParams));
      emit('Qcur', il, q);
      emit('Kcur', il, k);
      emit('Vcur', il, v);

      const kqv = causalAttention(q, k, v, attention);
      emit('kqv_out', il, kqv);
      const attnOut = project(kqv, 'attn_output', qWidth, hp.nEmbd);
      emit('attn_out', il, attnOut);
      const ffnInp = attnOut.map((x, pos) => add(x, hidden[pos]!));
      emit('ffn_inp', il, ffnInp);

      const ffnNorm = w.vector(blk('ffn_norm.weight'), hp.nEmbd);
      const ffnNormed = ffnInp.map((x) => rmsNorm(x, ffnNorm, hp.rmsEps));
      emit('ffn_norm', il, ffnNormed);
      const gate = project(ffnNormed, 'ffn_gate', hp.nEmbd, hp.nFf);
      const up = project(ffnNormed, 'ffn_up', hp.nEmbd, hp.nFf);
      const ffnOut = project(gate.map((g, pos) => swiglu(g, up[pos]!)), 'ffn_down', hp.nFf, hp.nEmbd);
      emit('ffn_out', il, ffnOut);

      hidden = ffnOut.map((x, pos) => add(x, ffnInp[pos]!));
      emit('l_out', il, hidden);
    }

    const outputNorm = w.vector('output_norm.weight', hp.nEmbd);
    const normed = hidden.map((x) => rmsNorm(x, outputNorm, hp.rmsEps));
    emit('result_norm', -1, normed);
    // No output.weight: the output projection is tied to the token embeddings.
    const outputName = w.has('output.weight') ? 'output.weight' : 'token_embd.weight';
    const output = w.matrix(outputName, hp.nEmbd, this.nVocab);
    const outputBias = w.optionalVector('output.bias', this.nVocab);
    const logits = normed.map((x) => withBias(matVec(output, x), outputBias));
    emit('result_output', -1, logits);
    return logits;
  }
}

/** Logits at every position of `tokens`, from a freshly loaded model. */
export function referenceForward(file: GgufFile, tokens: readonly number[]): Float32Array[] {
  return new ReferenceModel(file).forward(tokens);
}

/** Index of the largest value (the first, on ties). */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
