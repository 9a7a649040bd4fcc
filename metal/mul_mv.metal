// mul_mv.metal — mul_mv_<type>_f32: dst f32 [n_tokens][n_rows] = W [n_rows][n_cols] (type)
// x f32 [n_tokens][n_cols]; W rows of row_bytes = n_cols/BLK blocks (ferrum_metal.h).
// Geometry: FR_MV_ROWS (128) rows per threadgroup of 256 threads (8 SIMD groups of 16 rows each);
// x is staged in threadgroup memory FR_MV_CHUNK floats at a time, so a threadgroup reads its
// token's x once for 128 rows (device traffic: each weight byte once, x once per 128 rows);
// lanes stride over blocks and simd_sum the partial dots. grid (ceil(n_rows/128), n_tokens, 1),
// threadgroup (256,1,1) (src/backend/metal-geometry.ts).
// mul_mv_id_<type>_f32 (mul_mat_id): W [n_expert][n_rows][n_cols], ids int [n_tokens][n_used],
// x f32 [n_tokens][1 or n_used][n_cols], dst f32 [n_tokens][n_used][n_rows]; NR rows per SIMD group
// (2 for 256-element K-quants, 4 otherwise), 2 SIMD groups per threadgroup, one threadgroup row
// per (token, slot): grid (ceil(n_rows/(2*NR)), n_tokens*n_used, 1), threadgroup (64,1,1).
#include "ferrum_metal.h"

// NR rows [r0, r0 + NR) of one matrix (rows past n_rows skipped) times one activation row xt;
// lane 0 writes dt[r]. Every lane of the SIMD group must call it (simd_sum).
template <typename T, int NR>
static void mul_mv_rows(device const uchar * w, uint row_bytes, uint n_rows, uint n_cols, device const float * xt,
                        device float * dt, uint r0, uint tiisg) {
  const uint nb = n_cols / T::BLK;
  float sum[NR];
  for (int r = 0; r < NR; r++) sum[r] = 0.0f;
  for (uint ib = tiisg; ib < nb; ib += FR_SIMD) {
    device const float * xb = xt + ib * T::BLK;
    for (int r = 0; r < NR; r++) {
      if (r0 + r >= n_rows) break;
      device const uchar * blk = w + (ulong)(r0 + r) * row_bytes + (ulong)ib * T::BYTES;
      sum[r] += T::dot(blk, xb);
    }
  }
  for (int r = 0; r < NR; r++) {
    const float s = simd_sum(sum[r]); // every lane, uniformly
    if (tiisg == 0 && r0 + r < n_rows) dt[r0 + r] = s;
  }
}

#define FR_MV_SG 8                      // SIMD groups per threadgroup
#define FR_MV_RS 16                     // rows per SIMD group
#define FR_MV_ROWS (FR_MV_SG * FR_MV_RS) // rows per threadgroup
#define FR_MV_CHUNK 2048                // floats of x staged at a time (8 KiB; a multiple of every BLK)

// FR_MV_ROWS rows from tgpig.x * FR_MV_ROWS of W times x row tgpig.y: the threadgroup copies x
// into threadgroup memory a chunk at a time, then each SIMD group runs its FR_MV_RS rows over it.
template <typename T>
static void mul_mv_impl(constant fr_mul_mat_params & p, device const uchar * w, device const float * x,
                        device float * dst, threadgroup float * xs, uint3 tgpig, uint tiitg, uint tiisg, uint sgitg) {
  const uint t = tgpig.y;
  if (t >= p.n_tokens) return; // grid sized for the largest batch; uniform per threadgroup
  const uint r0 = tgpig.x * FR_MV_ROWS + sgitg * FR_MV_RS;
  const uint nr = r0 >= p.n_rows ? 0 : min((uint)FR_MV_RS, p.n_rows - r0); // uniform per SIMD group
  device const float * xt = x + (ulong)t * p.n_cols;
  float sum[FR_MV_RS];
  for (int r = 0; r < FR_MV_RS; r++) sum[r] = 0.0f;
  for (uint c0 = 0; c0 < p.n_cols; c0 += FR_MV_CHUNK) {
    const uint len = min((uint)FR_MV_CHUNK, p.n_cols - c0);
    for (uint i = tiitg; i < len; i += FR_MV_SG * FR_SIMD) xs[i] = xt[c0 + i];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const uint b0 = c0 / T::BLK, nb = len / T::BLK;
    for (uint ib = tiisg; ib < nb; ib += FR_SIMD) {
      threadgroup const float * xb = xs + ib * T::BLK;
      device const uchar * blk = w + (ulong)r0 * p.row_bytes + (ulong)(b0 + ib) * T::BYTES;
      for (uint r = 0; r < nr; r++) sum[r] += T::dot(blk + (ulong)r * p.row_bytes, xb);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  device float * dt = dst + (ulong)t * p.n_rows;
  for (int r = 0; r < FR_MV_RS; r++) {
    const float s = simd_sum(sum[r]); // every lane, uniformly
    if (tiisg == 0 && (uint)r < nr) dt[r0 + r] = s;
  }
}

// mul_mv_id (llama.cpp's kernel_mul_mv_id idea): the same rows per SIMD group, one threadgroup row
// (tgpig.y) per (token, slot) pair; the pair's expert id picks the matrix. An id outside
// [0, n_expert) reads nothing and writes zeros (the CPU executor reports it as an error).
template <typename T, int NR>
static void mul_mv_id_impl(constant fr_mul_mat_id_params & p, device const uchar * w, device const int * ids,
                           device const float * x, device float * dst, uint3 tgpig, uint tiisg, uint sgitg) {
  const uint r0 = (tgpig.x * 2 + sgitg) * NR;
  const uint pair = tgpig.y; // t * n_used + s
  if (pair >= p.n_tokens * p.n_used) return; // grid sized for the largest batch; uniform per threadgroup
  device float * dt = dst + (ulong)pair * p.n_rows;
  const int id = ids[pair]; // the same for every thread of the threadgroup
  if (id < 0 || (uint)id >= p.n_expert) {
    if (tiisg == 0)
      for (int r = 0; r < NR; r++)
        if (r0 + r < p.n_rows) dt[r0 + r] = 0.0f;
    return;
  }
  device const uchar * we = w + (ulong)id * p.n_rows * p.row_bytes;
  device const float * xt = x + (ulong)(p.x_per_slot ? pair : pair / p.n_used) * p.n_cols;
  mul_mv_rows<T, NR>(we, p.row_bytes, p.n_rows, p.n_cols, xt, dt, r0, tiisg);
}

#define FR_MUL_MV(T, NR) \
kernel void kernel_mul_mv_##T##_f32(constant fr_mul_mat_params & p [[buffer(0)]], \
                                    device const uchar * w [[buffer(1)]], \
                                    device const float * x [[buffer(2)]], \
                                    device float * dst [[buffer(3)]], \
                                    uint3 tgpig [[threadgroup_position_in_grid]], \
                                    ushort tiitg [[thread_index_in_threadgroup]], \
                                    ushort tiisg [[thread_index_in_simdgroup]], \
                                    ushort sgitg [[simdgroup_index_in_threadgroup]]) { \
  threadgroup float xs[FR_MV_CHUNK]; \
  mul_mv_impl<fr_##T>(p, w, x, dst, xs, tgpig, tiitg, tiisg, sgitg); \
} \
kernel void kernel_mul_mv_id_##T##_f32(constant fr_mul_mat_id_params & p [[buffer(0)]], \
                                       device const uchar * w [[buffer(1)]], \
                                       device const int * ids [[buffer(2)]], \
                                       device const float * x [[buffer(3)]], \
                                       device float * dst [[buffer(4)]], \
                                       uint3 tgpig [[threadgroup_position_in_grid]], \
                                       ushort tiisg [[thread_index_in_simdgroup]], \
                                       ushort sgitg [[simdgroup_index_in_threadgroup]]) { \
  mul_mv_id_impl<fr_##T, NR>(p, w, ids, x, dst, tgpig, tiisg, sgitg); \
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
