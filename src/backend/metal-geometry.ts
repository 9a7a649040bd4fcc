/**
 * Metal dispatch geometry: for each op the CPU executor names (`rms_norm_f32`,
 * `mul_mat_q4_K`, ...), the Metal kernel in metal/*.metal and its grid
 * (threadgroups per grid) and threadgroup (threads per threadgroup) sizes.
 * Each .metal file's header comment states the same geometry; the MSL
 * emulator (tools/metal-emu) runs exactly what is computed here.
 *
 * Dynamic counts (tokens, outputs) are patched into params per replay, but a
 * plan's grid is fixed, so grids are sized for the largest value a count can
 * take (`limits`) and kernels return early past the live count.
 */
import { UserError } from '../cli/user-error.js';

export type Dim3 = [number, number, number];

export interface MetalDispatch {
  readonly name: string;
  readonly grid: Dim3;
  readonly threadgroup: Dim3;
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** mul_mv_id, 256-element K-quants: 2 rows per SIMD group (4 a threadgroup); everything else 4 (8 a threadgroup). */
const TWO_ROW_TYPES = new Set(['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K', 'iq4_xs']);

/** mul_mv (decode): rows per threadgroup (FR_MV_ROWS in metal/mul_mv.metal). */
export const MUL_MV_ROWS = 128;

/** mul_mv_id: rows per SIMD group. */
export function mulMvRowsPerSimdgroup(type: string): number {
  return TWO_ROW_TYPES.has(type) ? 2 : 4;
}

/**
 * `op` is the executor-neutral op name, `v` its params with every dynamic
 * count at its upper bound. `prefill` picks matrix-matrix kernels for
 * mul_mat (a plan built for batches of many tokens; the engine does not ask
 * for it yet: one plan serves decode and prefill today).
 */
export function metalDispatch(op: string, v: Readonly<Record<string, number>>, options: { readonly prefill?: boolean } = {}): MetalDispatch {
  const n = (k: string): number => {
    const x = v[k];
    if (x === undefined) throw new Error(`metal-geometry: ${op} has no param ${k}`);
    return x;
  };
  switch (op) {
    case 'rms_norm_f32': {
      const tg = Math.min(256, Math.max(32, ceilDiv(n('n_cols'), 8 * 32) * 32));
      return { name: 'kernel_rms_norm_f32', grid: [n('n_rows'), 1, 1], threadgroup: [tg, 1, 1] };
    }
    case 'add_f32':
    case 'mul_f32':
    case 'swiglu_f32':
      return { name: `kernel_${op}`, grid: [ceilDiv(n('n'), 256), 1, 1], threadgroup: [256, 1, 1] };
    case 'rope_f32':
      return { name: 'kernel_rope_f32', grid: [ceilDiv(n('head_dim') / 2, 32), n('n_head'), n('n_tokens')], threadgroup: [32, 1, 1] };
    case 'soft_max_f32':
      return { name: 'kernel_soft_max_f32', grid: [n('n_rows'), 1, 1], threadgroup: [64, 1, 1] };
    case 'moe_route_f32':
      // one SIMD group per token: n_used rounds of a simd arg-max over the experts
      return { name: 'kernel_moe_route_f32', grid: [n('n_tokens'), 1, 1], threadgroup: [32, 1, 1] };
    case 'moe_sum_f32':
      return { name: 'kernel_moe_sum_f32', grid: [ceilDiv(n('n_cols'), 256), n('n_tokens'), 1], threadgroup: [256, 1, 1] };
    default:
      break;
  }
  let m: RegExpMatchArray | null;
  if ((m = /^cpy_f32_(f32|f16|q8_0)$/.exec(op))) {
    // a head-major cache (metal/ferrum_params.h): each head's row whole blocks
    const hd = n('head_dim');
    if (!(hd > 0) || n('n_cols') % hd !== 0 || (m[1] === 'q8_0' && hd % 32 !== 0))
      throw new UserError(`the Metal KV store needs head_dim to split n_cols into heads of whole blocks (got ${hd} of ${n('n_cols')})`);
    const units = m[1] === 'q8_0' ? n('n_cols') / 32 : n('n_cols');
    return { name: `kernel_${op}`, grid: [ceilDiv(units, 64), n('n_tokens'), 1], threadgroup: [64, 1, 1] };
  }
  if ((m = /^attn_(f32|f16|q8_0)$/.exec(op))) {
    if (n('head_dim') > 256) throw new UserError(`the Metal attention kernel supports head_dim <= 256 (got ${n('head_dim')})`);
    if (m[1] === 'q8_0' && n('head_dim') % 32 !== 0) throw new UserError(`the Metal attention kernel needs a q8_0 cache's head_dim to be a multiple of 32 (got ${n('head_dim')})`);
    // one threadgroup per (KV head, token), one SIMD group per query head of its GQA group
    const gqa = n('n_head') / n('n_head_kv');
    if (!Number.isInteger(gqa) || gqa < 1 || gqa > 32)
      throw new UserError(`the Metal attention kernel needs n_head a multiple of n_head_kv, at most 32 times it (got ${n('n_head')}/${n('n_head_kv')})`);
    return { name: `kernel_${op}`, grid: [n('n_head_kv'), n('n_tokens'), 1], threadgroup: [32 * gqa, 1, 1] };
  }
  if ((m = /^get_rows_(\w+)$/.exec(op))) {
    return { name: `kernel_${op}`, grid: [n('n_rows'), 1, 1], threadgroup: [64, 1, 1] };
  }
  if ((m = /^mul_mat_id_(\w+)$/.exec(op))) {
    // mul_mv_id: mul_mv's rows per threadgroup, one threadgroup row per (token, slot) pair
    const type = m[1]!;
    const rows = 2 * mulMvRowsPerSimdgroup(type);
    return { name: `kernel_mul_mv_id_${type}_f32`, grid: [ceilDiv(n('n_rows'), rows), n('n_tokens') * n('n_used'), 1], threadgroup: [64, 1, 1] };
  }
  if ((m = /^mul_mat_(\w+)$/.exec(op)) && options.prefill) {
    // matrix-matrix: 32 rows x 32 tokens a threadgroup of 4 SIMD groups (simdgroup_float8x8)
    return { name: `kernel_mul_mm_${m[1]!}_f32`, grid: [ceilDiv(n('n_rows'), 32), ceilDiv(n('n_tokens'), 32), 1], threadgroup: [128, 1, 1] };
  }
  if ((m = /^mul_mat_(\w+)$/.exec(op))) {
    // 128 rows a threadgroup of 8 SIMD groups, x staged once in threadgroup memory (every weight byte read once)
    return { name: `kernel_mul_mv_${m[1]!}_f32`, grid: [ceilDiv(n('n_rows'), MUL_MV_ROWS), n('n_tokens'), 1], threadgroup: [256, 1, 1] };
  }
  throw new UserError(`the Metal backend has no kernel for ${op} yet`);
}
