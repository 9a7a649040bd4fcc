import { describe, expect, it } from 'vitest';
import { metalDispatch, mulMvRowsPerSimdgroup } from '../src/backend/metal-geometry.js';

/**
 * The Metal dispatch geometry TypeScript writes into every op record (the
 * kernels' header comments state the same); the MSL emulator tests run it.
 */
describe('metal-geometry', () => {
  it('mul_mat: 128 rows a threadgroup of 8 SIMD groups (x staged once); mul_mat_id: llama.cpp-style rows per SIMD group', () => {
    expect(mulMvRowsPerSimdgroup('q4_K')).toBe(2);
    expect(mulMvRowsPerSimdgroup('q6_K')).toBe(2);
    expect(mulMvRowsPerSimdgroup('q8_0')).toBe(4);
    expect(metalDispatch('mul_mat_q4_K', { n_cols: 4096, n_rows: 11008, n_tokens: 1, row_bytes: 2304 }))
      .toEqual({ name: 'kernel_mul_mv_q4_K_f32', grid: [86, 1, 1], threadgroup: [256, 1, 1] });
    expect(metalDispatch('mul_mat_q8_0', { n_cols: 128, n_rows: 13, n_tokens: 5, row_bytes: 136 }))
      .toEqual({ name: 'kernel_mul_mv_q8_0_f32', grid: [1, 5, 1], threadgroup: [256, 1, 1] });
    expect(metalDispatch('mul_mat_q8_0', { n_cols: 128, n_rows: 70, n_tokens: 33, row_bytes: 136 }, { prefill: true }))
      .toEqual({ name: 'kernel_mul_mm_q8_0_f32', grid: [3, 2, 1], threadgroup: [128, 1, 1] });
  });

  it('every other op', () => {
    expect(metalDispatch('rms_norm_f32', { n_cols: 4096, n_rows: 7, eps: 1e-5 }))
      .toEqual({ name: 'kernel_rms_norm_f32', grid: [7, 1, 1], threadgroup: [256, 1, 1] });
    expect(metalDispatch('rms_norm_f32', { n_cols: 64, n_rows: 2, eps: 1e-5 }).threadgroup).toEqual([32, 1, 1]);
    expect(metalDispatch('add_f32', { n: 1000, n_b: 10 })).toEqual({ name: 'kernel_add_f32', grid: [4, 1, 1], threadgroup: [256, 1, 1] });
    expect(metalDispatch('rope_f32', { head_dim: 128, n_dims: 128, n_head: 32, n_tokens: 3, pos0: 0, mode: 0, freq_base: 1e4, freq_scale: 1 }))
      .toEqual({ name: 'kernel_rope_f32', grid: [2, 32, 3], threadgroup: [32, 1, 1] });
    expect(metalDispatch('cpy_f32_q8_0', { n_cols: 1024, n_tokens: 2, pos0: 0, n_ctx: 64, head_dim: 128 }))
      .toEqual({ name: 'kernel_cpy_f32_q8_0', grid: [1, 2, 1], threadgroup: [64, 1, 1] });
    // a head-major cache: heads of whole blocks
    expect(() => metalDispatch('cpy_f32_q8_0', { n_cols: 64, n_tokens: 1, pos0: 0, n_ctx: 8, head_dim: 16 })).toThrow(/whole blocks/);
    expect(() => metalDispatch('cpy_f32_f16', { n_cols: 64, n_tokens: 1, pos0: 0, n_ctx: 8, head_dim: 24 })).toThrow(/whole blocks/);
    expect(() => metalDispatch('attn_q8_0', { n_head: 4, n_head_kv: 4, head_dim: 16, n_tokens: 1, pos0: 0, n_ctx: 8, scale: 0.25 })).toThrow(/multiple of 32/);
    expect(metalDispatch('attn_f16', { n_head: 32, n_head_kv: 8, head_dim: 128, n_tokens: 4, pos0: 0, n_ctx: 64, scale: 0.1 }))
      .toEqual({ name: 'kernel_attn_f16', grid: [8, 4, 1], threadgroup: [128, 1, 1] });
    expect(metalDispatch('get_rows_q6_K', { n_cols: 256, n_rows: 3, n_vocab: 10, row_bytes: 210 }))
      .toEqual({ name: 'kernel_get_rows_q6_K', grid: [3, 1, 1], threadgroup: [64, 1, 1] });
    expect(metalDispatch('soft_max_f32', { n_cols: 8, n_rows: 4, scale: 1 }).name).toBe('kernel_soft_max_f32');
  });

  it('mixture of experts: route, mul_mv_id (one threadgroup row per token and slot), sum', () => {
    expect(metalDispatch('moe_route_f32', { n_expert: 128, n_used: 8, n_tokens: 5, norm: 1, scale: 1 }))
      .toEqual({ name: 'kernel_moe_route_f32', grid: [5, 1, 1], threadgroup: [32, 1, 1] });
    expect(metalDispatch('mul_mat_id_q4_K', { n_cols: 2048, n_rows: 771, n_tokens: 3, row_bytes: 1152, n_expert: 128, n_used: 8, x_per_slot: 0 }))
      .toEqual({ name: 'kernel_mul_mv_id_q4_K_f32', grid: [193, 24, 1], threadgroup: [64, 1, 1] });
    expect(metalDispatch('mul_mat_id_q8_0', { n_cols: 128, n_rows: 13, n_tokens: 1, row_bytes: 136, n_expert: 8, n_used: 2, x_per_slot: 1 }, { prefill: true }))
      .toEqual({ name: 'kernel_mul_mv_id_q8_0_f32', grid: [2, 2, 1], threadgroup: [64, 1, 1] });
    expect(metalDispatch('moe_sum_f32', { n_cols: 1000, n_used: 8, n_tokens: 3 }))
      .toEqual({ name: 'kernel_moe_sum_f32', grid: [4, 3, 1], threadgroup: [256, 1, 1] });
  });

  it('ops without a Metal kernel yet, and head_dim past the attention kernel, are clear errors', () => {
    expect(() => metalDispatch('argsort_f32', {})).toThrow(/Metal backend has no kernel for argsort_f32/);
    expect(() => metalDispatch('attn_f16', { n_head: 1, n_head_kv: 1, head_dim: 512, n_tokens: 1, pos0: 0, n_ctx: 8, scale: 1 }))
      .toThrow(/head_dim <= 256/);
  });
});
