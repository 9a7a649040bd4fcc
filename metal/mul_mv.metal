// mul_mv.metal — mul_mv_<type>_f32: dst f32 [n_tokens][n_rows] = W [n_rows][n_cols] (type)
// x f32 [n_tokens][n_cols]; W rows of row_bytes = n_cols/BLK blocks (ferrum_metal.h).
// Geometry (llama.cpp-style): NR rows per SIMD group, 2 SIMD groups per threadgroup;
// lanes stride over blocks and simd_sum the partial dots. grid (ceil(n_rows/(2*NR)), n_tokens, 1),
// threadgroup (64,1,1); NR = 2 for 256-element K-quants, 4 otherwise (src/backend/metal-geometry.ts).
#include "ferrum_metal.h"

template <typename T, int NR>
static void mul_mv_impl(constant fr_mul_mat_params & p, device const uchar * w, device const float * x,
                        device float * dst, uint3 tgpig, uint tiisg, uint sgitg) {
  const uint r0 = (tgpig.x * 2 + sgitg) * NR;
  const uint t = tgpig.y;
  if (t >= p.n_tokens) return; // grid sized for the largest batch; uniform per threadgroup
  device const float * xt = x + (ulong)t * p.n_cols;
  const uint nb = p.n_cols / T::BLK;
  float sum[NR];
  for (int r = 0; r < NR; r++) sum[r] = 0.0f;
  for (uint ib = tiisg; ib < nb; ib += FR_SIMD) {
    device const float * xb = xt + ib * T::BLK;
    for (int r = 0; r < NR; r++) {
      if (r0 + r >= p.n_rows) break;
      device const uchar * blk = w + (ulong)(r0 + r) * p.row_bytes + (ulong)ib * T::BYTES;
      sum[r] += T::dot(blk, xb);
    }
  }
  for (int r = 0; r < NR; r++) {
    const float s = simd_sum(sum[r]); // every lane, uniformly
    if (tiisg == 0 && r0 + r < p.n_rows) dst[(ulong)t * p.n_rows + r0 + r] = s;
  }
}

#define FR_MUL_MV(T, NR) \
kernel void kernel_mul_mv_##T##_f32(constant fr_mul_mat_params & p [[buffer(0)]], \
                                    device const uchar * w [[buffer(1)]], \
                                    device const float * x [[buffer(2)]], \
                                    device float * dst [[buffer(3)]], \
                                    uint3 tgpig [[threadgroup_position_in_grid]], \
                                    ushort tiisg [[thread_index_in_simdgroup]], \
                                    ushort sgitg [[simdgroup_index_in_threadgroup]]) { \
  mul_mv_impl<fr_##T, NR>(p, w, x, dst, tgpig, tiisg, sgitg); \
}

FR_MUL_MV(f32, 4)
FR_MUL_MV(f16, 4)
FR_MUL_MV(bf16, 4)
FR_MUL_MV(q4_0, 4)
FR_MUL_MV(q4_1, 4)
FR_MUL_MV(q5_0, 4)
FR_MUL_MV(q5_1, 4)
FR_MUL_MV(q8_0, 4)
FR_MUL_MV(iq4_nl, 4)
FR_MUL_MV(q2_K, 2)
FR_MUL_MV(q3_K, 2)
FR_MUL_MV(q4_K, 2)
FR_MUL_MV(q5_K, 2)
FR_MUL_MV(q6_K, 2)
FR_MUL_MV(iq4_xs, 2)
