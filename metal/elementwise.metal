// elementwise.metal — add_f32, mul_f32 (b broadcast: b[i % n_b]) and
// swiglu_f32 over flat f32 arrays (ferrum_params.h: fr_binary_params, fr_glu_params).
// Geometry: one thread per element; threadgroup (256,1,1), grid (ceil(n/256),1,1).
#include "ferrum_metal.h"

kernel void kernel_add_f32(constant fr_binary_params & p [[buffer(0)]],
                           device const float * a [[buffer(1)]],
                           device const float * b [[buffer(2)]],
                           device float * dst [[buffer(3)]],
                           uint tpig [[thread_position_in_grid]]) {
  if (tpig >= p.n) return;
  dst[tpig] = a[tpig] + b[tpig % p.n_b];
}

kernel void kernel_mul_f32(constant fr_binary_params & p [[buffer(0)]],
                           device const float * a [[buffer(1)]],
                           device const float * b [[buffer(2)]],
                           device float * dst [[buffer(3)]],
                           uint tpig [[thread_position_in_grid]]) {
  if (tpig >= p.n) return;
  dst[tpig] = a[tpig] * b[tpig % p.n_b];
}

kernel void kernel_swiglu_f32(constant fr_glu_params & p [[buffer(0)]],
                              device const float * gate [[buffer(1)]],
                              device const float * up [[buffer(2)]],
                              device float * dst [[buffer(3)]],
                              uint tpig [[thread_position_in_grid]]) {
  if (tpig >= p.n) return;
  const float g = gate[tpig];
  dst[tpig] = (g / (1.0f + exp(-g))) * up[tpig];
}
