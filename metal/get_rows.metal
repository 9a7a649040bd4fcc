// get_rows.metal — get_rows_<type>: dst f32 [n_rows][n_cols] = dequant(table[ids[r]]),
// table rows of row_bytes (n_cols/BLK blocks, ferrum_metal.h); ids >= n_vocab clamp.
// Geometry: one threadgroup per row, grid (n_rows,1,1), threadgroup (64,1,1), columns strided.
#include "ferrum_metal.h"

template <typename T>
static void get_rows_impl(constant fr_get_rows_params & p, device const uchar * table, device const int * ids,
                          device float * dst, uint row, uint tpitg, uint ntg) {
  if (row >= p.n_rows) return; // grid sized for the largest batch
  int id = ids[row];
  if (id < 0) id = 0;
  if ((uint)id >= p.n_vocab) id = (int)p.n_vocab - 1;
  device const uchar * src = table + (ulong)id * p.row_bytes;
  device float * y = dst + (ulong)row * p.n_cols;
  for (uint i = tpitg; i < p.n_cols; i += ntg) y[i] = T::dq(src + (i / T::BLK) * T::BYTES, i % T::BLK);
}

#define FR_GET_ROWS(T) \
kernel void kernel_get_rows_##T(constant fr_get_rows_params & p [[buffer(0)]], \
                                device const uchar * table [[buffer(1)]], \
                                device const int * ids [[buffer(2)]], \
                                device float * dst [[buffer(3)]], \
                                uint3 tgpig [[threadgroup_position_in_grid]], \
                                ushort tpitg [[thread_index_in_threadgroup]], \
                                ushort ntg [[threads_per_threadgroup]]) { \
  get_rows_impl<fr_##T>(p, table, ids, dst, tgpig.x, tpitg, ntg); \
}

FR_GET_ROWS(f32)
FR_GET_ROWS(f16)
FR_GET_ROWS(bf16)
FR_GET_ROWS(q4_0)
FR_GET_ROWS(q4_1)
FR_GET_ROWS(q5_0)
FR_GET_ROWS(q5_1)
FR_GET_ROWS(q8_0)
FR_GET_ROWS(q2_K)
FR_GET_ROWS(q3_K)
FR_GET_ROWS(q4_K)
FR_GET_ROWS(q5_K)
FR_GET_ROWS(q6_K)
FR_GET_ROWS(iq4_nl)
FR_GET_ROWS(iq4_xs)
