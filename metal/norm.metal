// norm.metal — rms_norm_f32: src/dst f32 [n_rows][n_cols], weight f32 [n_cols].
// Geometry: one threadgroup per row, grid (n_rows,1,1), threadgroup (256,1,1)
// (8 SIMD groups: simd_sum per group, then threadgroup memory + barrier).
#include "ferrum_metal.h"

kernel void kernel_rms_norm_f32(constant fr_rms_norm_params & p [[buffer(0)]],
                                device const float * src [[buffer(1)]],
                                device const float * weight [[buffer(2)]],
                                device float * dst [[buffer(3)]],
                                uint3 tgpig [[threadgroup_position_in_grid]],
                                ushort tpitg [[thread_index_in_threadgroup]],
                                ushort ntg [[threads_per_threadgroup]],
                                ushort tiisg [[thread_index_in_simdgroup]],
                                ushort sgitg [[simdgroup_index_in_threadgroup]]) {
  threadgroup float partial[32];
  const uint row = tgpig.x;
  if (row >= p.n_rows) return; // grid sized for the largest batch
  device const float * x = src + (ulong)row * p.n_cols;
  device float * y = dst + (ulong)row * p.n_cols;
  float sum = 0.0f;
  for (uint i = tpitg; i < p.n_cols; i += ntg) sum += x[i] * x[i];
  sum = simd_sum(sum);
  if (tiisg == 0) partial[sgitg] = sum;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float total = 0.0f;
  for (uint s = 0; s < (uint)(ntg + FR_SIMD - 1) / FR_SIMD; s++) total += partial[s];
  const float scale = 1.0f / sqrt(total / (float)p.n_cols + p.eps);
  for (uint i = tpitg; i < p.n_cols; i += ntg) y[i] = (x[i] * scale) * weight[i];
}
