import { ggmlKernelSuffix } from '../gguf/index.js';
import type { Device } from './device.js';
import { metalDispatch } from './metal-geometry.js';
import {
  AttnParams, BinaryParams, GetRowsParams, GluParams, KvStoreParams, MoeRouteParams, MoeSumParams, MulMatIdParams, MulMatParams,
  type ParamsStruct, RepackParams, RmsNormParams, RopeParams, SoftmaxParams,
} from './params.js';
import { type Binding, type OpRecord, type ParamPatch, Slot } from './plan.js';

/** A count that is fixed, or patched per step as slot * scale. */
export type Count = number | { readonly slot: Slot; readonly scale: number };

export const perToken = (scale: number): Count => ({ slot: Slot.NTokens, scale });
export const perOut = (scale: number): Count => ({ slot: Slot.NOut, scale });
export const POS0: Count = { slot: Slot.Pos0, scale: 1 };

export type KvType = 'f16' | 'f32' | 'q8_0';

export interface WeightBinding extends Binding {
  readonly type: number;
  /** Bytes per row as stored: the file's, or the repacked layout's. */
  readonly rowBytes: number;
  /** 'r8': repacked on the CPU eight rows to a block (src/model/repack.ts). */
  readonly layout?: 'r8';
}

/**
 * Turns "rms_norm these rows" into OpRecords: the kernel name, the params
 * struct of ferrum_params.h, and the patches for dynamic counts. Counts that
 * depend on the batch are written as Count so one plan serves every step.
 */
export class OpBuilder {
  readonly ops: OpRecord[] = [];

  /**
   * `limits`: the largest value each slot takes (the batch size for
   * NTokens); the Metal executor sizes fixed grids with them.
   */
  constructor(
    private readonly device: Device,
    private readonly limits: Partial<Record<Slot, number>> = {},
    /** A plan for batches of tokens: Metal uses matrix-matrix kernels there. */
    private readonly prefill = false,
  ) {}

  private push<F extends string>(name: string, bindings: Binding[], struct: ParamsStruct<F>, values: Record<F, Count | number>): void {
    const fixed = {} as Record<F, number>;
    const patches: ParamPatch[] = [];
    for (const [field, v] of Object.entries(values) as Array<[F, Count]>) {
      if (typeof v === 'number') {
        fixed[field] = v;
      } else {
        fixed[field] = 0;
        patches.push({ field: struct.offsetOf(field), slot: v.slot, scale: v.scale, bias: 0 });
      }
    }
    // Metal: its own kernel name and a grid sized for each count's upper bound
    const metal = this.device.kind === 'metal'
      ? metalDispatch(name, Object.fromEntries(Object.entries(values).map(([f, v]) =>
        [f, typeof v === 'number' ? v : (this.limits[(v as Exclude<Count, number>).slot] ?? 1) * (v as Exclude<Count, number>).scale])),
      { prefill: this.prefill })
      : undefined;
    this.ops.push({
      name,
      kernel: this.device.kernel(metal?.name ?? name),
      bindings,
      params: struct.encode(fixed),
      patches,
      grid: metal?.grid ?? [0, 0, 0],
      threadgroup: metal?.threadgroup ?? [0, 0, 0],
    });
  }

  getRows(table: WeightBinding, ids: Binding, dst: Binding, nCols: number, nVocab: number, nRows: Count): void {
    this.push(`get_rows_${ggmlKernelSuffix(table.type)}`, [table, ids, dst], GetRowsParams,
      { n_cols: nCols, n_rows: nRows, n_vocab: nVocab, row_bytes: table.rowBytes });
  }

  rmsNorm(src: Binding, weight: Binding, dst: Binding, nCols: number, nRows: Count, eps: number): void {
    this.push('rms_norm_f32', [src, weight, dst], RmsNormParams, { n_cols: nCols, n_rows: nRows, eps });
  }

  mulMat(w: WeightBinding, x: Binding, dst: Binding, nCols: number, nRows: number, nTokens: Count): void {
    this.push(`mul_mat_${ggmlKernelSuffix(w.type)}${w.layout === 'r8' ? '_r8' : ''}`, [w, x, dst], MulMatParams,
      { n_cols: nCols, n_rows: nRows, n_tokens: nTokens, row_bytes: w.rowBytes });
  }

  /** CPU only, once at load: `dst` = the rows of `src` in the type's repacked layout. */
  repack(src: WeightBinding, dst: Binding, nCols: number, nRows: number, blockBytes: number): void {
    this.push(`repack_${ggmlKernelSuffix(src.type)}_r8`, [src, dst], RepackParams,
      { n_cols: nCols, n_rows: nRows, row_bytes: src.rowBytes, block_bytes: blockBytes });
  }

  add(a: Binding, b: Binding, dst: Binding, n: Count, nB: Count): void {
    this.push('add_f32', [a, b, dst], BinaryParams, { n, n_b: nB });
  }

  mul(a: Binding, b: Binding, dst: Binding, n: Count, nB: Count): void {
    this.push('mul_f32', [a, b, dst], BinaryParams, { n, n_b: nB });
  }

  rope(src: Binding, dst: Binding, p: { headDim: number; nDims: number; nHead: number; mode: number; freqBase: number; freqScale: number }): void {
    this.push('rope_f32', [src, dst], RopeParams, {
      head_dim: p.headDim, n_dims: p.nDims, n_head: p.nHead, n_tokens: perToken(1), pos0: POS0,
      mode: p.mode, freq_base: p.freqBase, freq_scale: p.freqScale,
    });
  }

  /** Stores rows of nHeadKV * headDim at pos0.. of a head-major cache (metal/ferrum_params.h). */
  kvStore(src: Binding, cache: Binding, kv: KvType, p: { nHeadKV: number; headDim: number; nCtx: number }): void {
    this.push(`cpy_f32_${kv}`, [src, cache], KvStoreParams, {
      n_cols: p.nHeadKV * p.headDim, n_tokens: perToken(1), pos0: POS0, n_ctx: p.nCtx, head_dim: p.headDim,
    });
  }

  attention(q: Binding, k: Binding, v: Binding, dst: Binding, kv: KvType,
    p: { nHead: number; nHeadKV: number; headDim: number; nCtx: number; scale: number }): void {
    this.push(`attn_${kv}`, [q, k, v, dst], AttnParams, {
      n_head: p.nHead, n_head_kv: p.nHeadKV, head_dim: p.headDim, n_tokens: perToken(1), pos0: POS0, n_ctx: p.nCtx, scale: p.scale,
    });
  }

  swiglu(gate: Binding, up: Binding, dst: Binding, n: Count): void {
    this.push('swiglu_f32', [gate, up, dst], GluParams, { n });
  }

  softmax(src: Binding, dst: Binding, nCols: number, nRows: Count, scale = 1): void {
    this.push('soft_max_f32', [src, dst], SoftmaxParams, { n_cols: nCols, n_rows: nRows, scale });
  }

  /** Top-k of the router's probabilities per token: expert ids and their (renormalised, scaled) weights. */
  moeRoute(probs: Binding, ids: Binding, weights: Binding, p: { nExpert: number; nUsed: number; nTokens: Count; norm: boolean; scale: number }): void {
    this.push('moe_route_f32', [probs, ids, weights], MoeRouteParams, {
      n_expert: p.nExpert, n_used: p.nUsed, n_tokens: p.nTokens, norm: p.norm ? 1 : 0, scale: p.scale,
    });
  }

  /**
   * Products with the selected experts only: w is the stacked [nExpert][nRows][nCols] tensor,
   * x one row per token (xPerSlot false) or one per token and slot; dst [tokens][nUsed][nRows].
   */
  mulMatId(w: WeightBinding, ids: Binding, x: Binding, dst: Binding,
    p: { nCols: number; nRows: number; nExpert: number; nUsed: number; nTokens: Count; xPerSlot: boolean }): void {
    this.push(`mul_mat_id_${ggmlKernelSuffix(w.type)}`, [w, ids, x, dst], MulMatIdParams, {
      n_cols: p.nCols, n_rows: p.nRows, n_tokens: p.nTokens, row_bytes: w.rowBytes,
      n_expert: p.nExpert, n_used: p.nUsed, x_per_slot: p.xPerSlot ? 1 : 0,
    });
  }

  /** dst[t] = sum over slots of experts[t][s] * weights[t][s]. */
  moeSum(experts: Binding, weights: Binding, dst: Binding, nCols: number, nUsed: number, nTokens: Count): void {
    this.push('moe_sum_f32', [experts, weights, dst], MoeSumParams, { n_cols: nCols, n_used: nUsed, n_tokens: nTokens });
  }
}
