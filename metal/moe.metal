// moe.metal — moe_route_f32: probs f32 [n_tokens][n_expert] -> ids int [n_tokens][n_used], weights f32 (top-k,
// ties to the lower id, then norm/scale); grid (n_tokens,1,1), threadgroup (32,1,1): one SIMD group per token.
// moe_sum_f32: experts f32 [n_tokens][n_used][n_cols] x weights -> dst f32 [n_tokens][n_cols]; one thread per column,
// grid (ceil(n_cols/256), n_tokens, 1), threadgroup (256,1,1).
#include "ferrum_metal.h"

// a ahead of b in the routing order: larger probability first, the lower expert id on ties
static inline bool moe_ahead(float av, uint ai, float bv, uint bi) {
  return av > bv || (av == bv && ai < bi);
}

// n_used rounds of a SIMD-group arg-max: each round takes the best expert behind the one the previous
// round took (in moe_ahead order), so nothing needs marking; lane 0 writes ids/weights and finishes.
kernel void kernel_moe_route_f32(constant fr_moe_route_params & p [[buffer(0)]],
                                 device const float * probs [[buffer(1)]],
                                 device int * ids [[buffer(2)]],
                                 device float * weights [[buffer(3)]],
                                 uint3 tgpig [[threadgroup_position_in_grid]],
                                 ushort tiisg [[thread_index_in_simdgroup]]) {
  const uint t = tgpig.x;
  if (t >= p.n_tokens) return; // grid sized for the largest batch; uniform per threadgroup
  device const float * pr = probs + (ulong)t * p.n_expert;
  device int * id = ids + (ulong)t * p.n_used;
  device float * w = weights + (ulong)t * p.n_used;
  float prev_v = INFINITY;
  uint prev_i = 0xffffffffu; // nothing taken yet: every expert is behind (+inf, none)
  bool first = true;
  for (uint s = 0; s < p.n_used; s++) {
    float bv = -INFINITY;
    uint bi = 0xffffffffu; // no candidate: behind every real expert
    for (uint e = tiisg; e < p.n_expert; e += FR_SIMD) {
      const float v = pr[e];
      if (!first && !moe_ahead(prev_v, prev_i, v, e)) continue; // taken already
      if (moe_ahead(v, e, bv, bi)) { bv = v; bi = e; }
    }
    for (ushort m = FR_SIMD / 2; m > 0; m >>= 1) {
      const float ov = simd_shuffle_xor(bv, m);
      const uint oi = simd_shuffle_xor(bi, m);
      if (moe_ahead(ov, oi, bv, bi)) { bv = ov; bi = oi; }
    }
    prev_v = bv;
    prev_i = bi;
    first = false;
    if (tiisg == 0) {
      id[s] = (int)bi;
      w[s] = bv;
    }
  }
  if (tiisg != 0) return;
  if (p.norm) {
    float sum = 0.0f; // the CPU sums in double; f32 here (a few ulp apart)
    for (uint s = 0; s < p.n_used; s++) sum += w[s];
    if (sum < 6.103515625e-5f) sum = 6.103515625e-5f;
    for (uint s = 0; s < p.n_used; s++) w[s] = w[s] / sum;
  }
  if (p.scale != 0.0f && p.scale != 1.0f)
    for (uint s = 0; s < p.n_used; s++) w[s] = w[s] * p.scale;
}

kernel void kernel_moe_sum_f32(constant fr_moe_sum_params & p [[buffer(0)]],
                               device const float * experts [[buffer(1)]],
                               device const float * weights [[buffer(2)]],
                               device float * dst [[buffer(3)]],
                               uint3 tgpig [[threadgroup_position_in_grid]],
                               ushort tpitg [[thread_index_in_threadgroup]],
                               ushort ntg [[threads_per_threadgroup]]) {
  const uint t = tgpig.y;
  const uint c = tgpig.x * ntg + tpitg;
  if (t >= p.n_tokens || c >= p.n_cols) return;
  device const float * e = experts + (ulong)t * p.n_used * p.n_cols + c;
  device const float * w = weights + (ulong)t * p.n_used;
  float d = e[0] * w[0];
  for (uint s = 1; s < p.n_used; s++) {
    const float prod = e[(ulong)s * p.n_cols] * w[s]; // rounded before the add, as the CPU does
    d = d + prod;
  }
  dst[(ulong)t * p.n_cols + c] = d;
}
