import type { Binding } from '../backend/plan.js';
import { type Count, type KvType, type OpBuilder, perOut, perToken } from '../backend/op-builder.js';
import type { HParams } from './hparams.js';
import type { DenseFfn, ModelWeights, MoeFfn } from './llama-weights.js';

/** Activation and cache buffers one step reads and writes (sized for the plan's batch). */
export interface StepBuffers {
  readonly ids: Binding;
  readonly outIds: Binding;
  readonly x: Binding;
  readonly xn: Binding;
  readonly q: Binding;
  readonly k: Binding;
  readonly v: Binding;
  readonly attn: Binding;
  readonly tmp: Binding;
  readonly gate: Binding;
  readonly up: Binding;
  /** Rows of the last layer kept for output (maxOutputs rows). */
  readonly xOut: Binding;
  readonly logits: Binding;
  readonly kCache: readonly Binding[];
  readonly vCache: readonly Binding[];
  /** Mixture-of-experts models only. */
  readonly moe?: MoeBuffers;
}

/** Per-step routing and expert activations of a mixture-of-experts FFN. */
export interface MoeBuffers {
  /** f32 [batch][n_expert]: router logits, then their softmax. */
  readonly logits: Binding;
  readonly probs: Binding;
  /** int32 [batch][n_used] selected experts, f32 [batch][n_used] their weights. */
  readonly ids: Binding;
  readonly weights: Binding;
  /** f32 [batch][n_used][n_ff_exp]. */
  readonly gate: Binding;
  readonly up: Binding;
  /** f32 [batch][n_used][n_embd]: each selected expert's output. */
  readonly out: Binding;
  /** f32 [batch][n_embd]: the shared experts' output. */
  readonly shared: Binding;
}

export interface GraphOptions {
  /** Most tokens one step carries: the rows of every activation buffer. */
  readonly batch: number;
  readonly nCtx: number;
  readonly kvType: KvType;
}

/**
 * The layer loop of llama / qwen2 / qwen3 as ops, in llama.cpp's order:
 * norm → QKV (+bias) → (QK-norm) → RoPE → cache → attention → output + residual,
 * norm → SwiGLU FFN + residual; the last layer keeps only the rows whose
 * logits are wanted (llama.cpp's inp_out_ids), then final norm and output.
 */
export function buildLlamaGraph(b: OpBuilder, hp: HParams, w: ModelWeights, buf: StepBuffers, opt: GraphOptions): void {
  const qDim = hp.nHead * hp.headDim;
  const kvDim = hp.nHeadKV * hp.headDim;
  const ropeP = { headDim: hp.headDim, nDims: hp.nRot, mode: hp.ropeMode, freqBase: hp.ropeBase, freqScale: hp.ropeFreqScale };

  b.getRows(w.tokenEmbd, buf.ids, buf.x, hp.nEmbd, hp.nVocab, perToken(1));
  w.layers.forEach((L, il) => {
    b.rmsNorm(buf.x, L.attnNorm, buf.xn, hp.nEmbd, perToken(1), hp.eps);
    b.mulMat(L.q, buf.xn, buf.q, hp.nEmbd, qDim, perToken(1));
    b.mulMat(L.k, buf.xn, buf.k, hp.nEmbd, kvDim, perToken(1));
    b.mulMat(L.v, buf.xn, buf.v, hp.nEmbd, kvDim, perToken(1));
    if (L.qBias) b.add(buf.q, L.qBias, buf.q, perToken(qDim), qDim);
    if (L.kBias) b.add(buf.k, L.kBias, buf.k, perToken(kvDim), kvDim);
    if (L.vBias) b.add(buf.v, L.vBias, buf.v, perToken(kvDim), kvDim);
    if (L.qNorm) b.rmsNorm(buf.q, L.qNorm, buf.q, hp.headDim, perToken(hp.nHead), hp.eps);
    if (L.kNorm) b.rmsNorm(buf.k, L.kNorm, buf.k, hp.headDim, perToken(hp.nHeadKV), hp.eps);
    b.rope(buf.q, buf.q, { ...ropeP, nHead: hp.nHead });
    b.rope(buf.k, buf.k, { ...ropeP, nHead: hp.nHeadKV });
    const cache = { nHeadKV: hp.nHeadKV, headDim: hp.headDim, nCtx: opt.nCtx };
    b.kvStore(buf.k, buf.kCache[il]!, opt.kvType, cache);
    b.kvStore(buf.v, buf.vCache[il]!, opt.kvType, cache);
    b.attention(buf.q, buf.kCache[il]!, buf.vCache[il]!, buf.attn, opt.kvType, {
      nHead: hp.nHead, nHeadKV: hp.nHeadKV, headDim: hp.headDim, nCtx: opt.nCtx, scale: 1 / Math.sqrt(hp.headDim),
    });
    b.mulMat(L.o, buf.attn, buf.tmp, qDim, hp.nEmbd, perToken(1));
    if (L.oBias) b.add(buf.tmp, L.oBias, buf.tmp, perToken(hp.nEmbd), hp.nEmbd);
    // From the last layer's residual on, only the rows whose logits are wanted
    // go on (llama.cpp's inp_out_ids): less work, and the same matmul paths
    // (one row vs several) as llama.cpp, which decide how sums are rounded.
    const last = il === w.layers.length - 1;
    const rows = last ? perOut : perToken;
    if (last) {
      b.getRows({ ...buf.tmp, type: 0, rowBytes: hp.nEmbd * 4 }, buf.outIds, buf.xOut, hp.nEmbd, opt.batch, perOut(1));
      b.getRows({ ...buf.x, type: 0, rowBytes: hp.nEmbd * 4 }, buf.outIds, buf.tmp, hp.nEmbd, opt.batch, perOut(1));
      b.add(buf.xOut, buf.tmp, buf.x, perOut(hp.nEmbd), perOut(hp.nEmbd));
    } else {
      b.add(buf.x, buf.tmp, buf.x, perToken(hp.nEmbd), perToken(hp.nEmbd));
    }
    b.rmsNorm(buf.x, L.ffnNorm, buf.xn, hp.nEmbd, rows(1), hp.eps);
    if (L.ffn.kind === 'dense') {
      denseFfn(b, hp, L.ffn, buf, buf.tmp, rows);
    } else {
      moeFfn(b, hp, L.ffn, buf, rows);
    }
    b.add(buf.x, buf.tmp, buf.x, rows(hp.nEmbd), rows(hp.nEmbd));
  });
  b.rmsNorm(buf.x, w.outputNorm, buf.xn, hp.nEmbd, perOut(1), hp.eps);
  b.mulMat(w.output, buf.xn, buf.logits, hp.nEmbd, hp.nVocab, perOut(1));
}

type Rows = (scale: number) => Count;

/** SwiGLU FFN of buf.xn into dst. */
function denseFfn(b: OpBuilder, hp: HParams, f: DenseFfn, buf: StepBuffers, dst: Binding, rows: Rows): void {
  const nFF = f.gate.dims[1]!;
  b.mulMat(f.gate, buf.xn, buf.gate, hp.nEmbd, nFF, rows(1));
  b.mulMat(f.up, buf.xn, buf.up, hp.nEmbd, nFF, rows(1));
  b.swiglu(buf.gate, buf.up, buf.gate, rows(nFF));
  b.mulMat(f.down, buf.gate, dst, nFF, hp.nEmbd, rows(1));
}

/**
 * llama.cpp's build_moe_ffn for softmax gating: router logits → softmax →
 * top-k (→ renormalise) → the selected experts' SwiGLU FFNs → weighted sum,
 * plus the shared experts where the model has them; result in buf.tmp.
 */
function moeFfn(b: OpBuilder, hp: HParams, f: MoeFfn, buf: StepBuffers, rows: Rows): void {
  const m = buf.moe;
  if (!m) throw new Error('mixture-of-experts layer without MoE buffers');
  const { nEmbd, nExpert, nExpertUsed: nUsed, nFFExp } = hp;
  b.mulMat(f.router, buf.xn, m.logits, nEmbd, nExpert, rows(1));
  b.softmax(m.logits, m.probs, nExpert, rows(1));
  b.moeRoute(m.probs, m.ids, m.weights, { nExpert, nUsed, nTokens: rows(1), norm: hp.expertWeightsNorm, scale: 1 });
  const id = { nExpert, nUsed, nTokens: rows(1) };
  b.mulMatId(f.upExps, m.ids, buf.xn, m.up, { ...id, nCols: nEmbd, nRows: nFFExp, xPerSlot: false });
  b.mulMatId(f.gateExps, m.ids, buf.xn, m.gate, { ...id, nCols: nEmbd, nRows: nFFExp, xPerSlot: false });
  b.swiglu(m.gate, m.up, m.gate, rows(nUsed * nFFExp));
  b.mulMatId(f.downExps, m.ids, m.gate, m.out, { ...id, nCols: nFFExp, nRows: nEmbd, xPerSlot: true });
  b.moeSum(m.out, m.weights, buf.tmp, nEmbd, nUsed, rows(1));
  if (f.shared) {
    denseFfn(b, hp, f.shared, buf, m.shared, rows);
    b.add(buf.tmp, m.shared, buf.tmp, rows(nEmbd), rows(nEmbd));
  }
}
