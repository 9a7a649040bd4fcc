// mul_mm.metal — mul_mm_<type>_f32 (prefill): dst f32 [n_tokens][n_rows] = W [n_rows][n_cols] (type)
// times x f32 [n_tokens][n_cols]. A threadgroup computes a 32-row x 32-token tile with 8x8
// simdgroup matrices: 4 SIMD groups (128 threads), SIMD group s owns rows 8s..8s+7 of the tile.
// Geometry: grid (ceil(n_rows/32), ceil(n_tokens/32), 1), threadgroup (128,1,1).
#include "ferrum_metal.h"

#define FR_MM_TILE 32

template <typename T>
static void mul_mm_impl(constant fr_mul_mat_params & p, device const uchar * w, device const float * x,
                        device float * dst, uint3 tgpig, uint tpitg, uint sgitg,
                        threadgroup float * sa, threadgroup float * sb) {
  const uint r0 = tgpig.x * FR_MM_TILE, t0 = tgpig.y * FR_MM_TILE;
  if (t0 >= p.n_tokens) return; // grid sized for the largest batch; uniform per threadgroup
  simdgroup_float8x8 acc[4];
  for (int i = 0; i < 4; i++) acc[i] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
  for (uint k0 = 0; k0 < p.n_cols; k0 += FR_MM_TILE) {
    // stage a 32x32 slice of W (dequantized) and of x, zero past the edges
    for (uint e = tpitg; e < FR_MM_TILE * FR_MM_TILE; e += 128) {
      const uint i = e / FR_MM_TILE, k = k0 + e % FR_MM_TILE;
      const bool in_w = r0 + i < p.n_rows && k < p.n_cols;
      sa[e] = in_w ? T::dq(w + (ulong)(r0 + i) * p.row_bytes + (k / T::BLK) * T::BYTES, k % T::BLK) : 0.0f;
      const bool in_x = t0 + i < p.n_tokens && k < p.n_cols;
      sb[e] = in_x ? x[(ulong)(t0 + i) * p.n_cols + k] : 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint kk = 0; kk < FR_MM_TILE; kk += 8) {
      simdgroup_float8x8 a, b;
      simdgroup_load(a, sa + 8 * sgitg * FR_MM_TILE + kk, FR_MM_TILE);
      for (uint tb = 0; tb < 4; tb++) {
        // b[k][n] = x[token 8tb+n][col kk+k]: the transpose of the staged rows
        simdgroup_load(b, sb + 8 * tb * FR_MM_TILE + kk, FR_MM_TILE, ulong2(0), true);
        simdgroup_multiply_accumulate(acc[tb], a, b, acc[tb]);
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  // the tile (rows x tokens) through threadgroup memory, then out with bounds checks
  for (uint tb = 0; tb < 4; tb++) simdgroup_store(acc[tb], sa + 8 * sgitg * FR_MM_TILE + 8 * tb, FR_MM_TILE);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint e = tpitg; e < FR_MM_TILE * FR_MM_TILE; e += 128) {
    const uint i = e / FR_MM_TILE, n = e % FR_MM_TILE;
    if (r0 + i < p.n_rows && t0 + n < p.n_tokens) dst[(ulong)(t0 + n) * p.n_rows + r0 + i] = sa[e];
  }
}

#define FR_MUL_MM(T) \
kernel void kernel_mul_mm_##T##_f32(constant fr_mul_mat_params & p [[buffer(0)]], \
                                    device const uchar * w [[buffer(1)]], \
                                    device const float * x [[buffer(2)]], \
                                    device float * dst [[buffer(3)]], \
                                    uint3 tgpig [[threadgroup_position_in_grid]], \
                                    ushort tpitg [[thread_index_in_threadgroup]], \
                                    ushort sgitg [[simdgroup_index_in_threadgroup]]) { \
  threadgroup float sa[FR_MM_TILE * FR_MM_TILE]; \
  threadgroup float sb[FR_MM_TILE * FR_MM_TILE]; \
  mul_mm_impl<fr_##T>(p, w, x, dst, tgpig, tpitg, sgitg, sa, sb); \
}

FR_MUL_MM(f32)
FR_MUL_MM(f16)
FR_MUL_MM(bf16)
FR_MUL_MM(q4_0)
FR_MUL_MM(q4_1)
FR_MUL_MM(q5_0)
FR_MUL_MM(q5_1)
FR_MUL_MM(q8_0)
FR_MUL_MM(iq4_nl)
FR_MUL_MM(q2_K)
FR_MUL_MM(q3_K)
FR_MUL_MM(q4_K)
FR_MUL_MM(q5_K)
FR_MUL_MM(q6_K)
FR_MUL_MM(iq4_xs)
