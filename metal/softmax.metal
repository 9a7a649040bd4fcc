// softmax.metal — soft_max_f32: dst[r] = softmax(src[r] * scale), f32 [n_rows][n_cols].
// Geometry: one threadgroup per row, grid (n_rows,1,1), threadgroup (64,1,1)
// (2 SIMD groups; max and sum reduced with simd_max/simd_sum + threadgroup memory).
#include "ferrum_metal.h"

kernel void kernel_soft_max_f32(constant fr_softmax_params & p [[buffer(0)]],
                                device const float * src [[buffer(1)]],
                                device float * dst [[buffer(2)]],
                                uint3 tgpig [[threadgroup_position_in_grid]],
                                ushort tpitg [[thread_index_in_threadgroup]],
                                ushort ntg [[threads_per_threadgroup]],
                                ushort tiisg [[thread_index_in_simdgroup]],
                                ushort sgitg [[simdgroup_index_in_threadgroup]]) {
  threadgroup float red[32];
  if (tgpig.x >= p.n_rows) return; // grid sized for the largest batch
  const uint nsg = (ntg + FR_SIMD - 1) / FR_SIMD;
  device const float * x = src + (ulong)tgpig.x * p.n_cols;
  device float * y = dst + (ulong)tgpig.x * p.n_cols;
  float m = -INFINITY;
  for (uint i = tpitg; i < p.n_cols; i += ntg) m = max(m, x[i] * p.scale);
  m = simd_max(m);
  if (tiisg == 0) red[sgitg] = m;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  m = red[0];
  for (uint s = 1; s < nsg; s++) m = max(m, red[s]);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float sum = 0.0f;
  for (uint i = tpitg; i < p.n_cols; i += ntg) {
    const float e = exp(x[i] * p.scale - m);
    y[i] = e;
    sum += e;
  }
  sum = simd_sum(sum);
  if (tiisg == 0) red[sgitg] = sum;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  sum = 0.0f;
  for (uint s = 0; s < nsg; s++) sum += red[s];
  const float inv = 1.0f / sum;
  for (uint i = tpitg; i < p.n_cols; i += ntg) y[i] *= inv;
}
