// kv.metal — cpy_f32_<kv>: KV store of src f32 [n_tokens][n_cols] into rows pos0..pos0+n_tokens-1
// of a cache of f32, f16 or q8_0 (34-byte blocks of 32), head-major in blocks of positions (fr_kv_row).
// Geometry: one thread per element (f32/f16) or per 32-block (q8_0):
// grid (ceil(units/64), n_tokens, 1), threadgroup (64,1,1); units = n_cols or n_cols/32.
#include "ferrum_metal.h"

// where element i (of n_cols) of the token at position pos lands, in elements
static inline ulong kv_index(constant fr_kv_store_params & p, uint pos, uint i) {
  return fr_kv_row(i / p.head_dim, pos, p.n_cols / p.head_dim, p.n_ctx) * p.head_dim + i % p.head_dim;
}

kernel void kernel_cpy_f32_f32(constant fr_kv_store_params & p [[buffer(0)]],
                               device const float * src [[buffer(1)]],
                               device float * cache [[buffer(2)]],
                               uint3 tgpig [[threadgroup_position_in_grid]],
                               ushort tpitg [[thread_index_in_threadgroup]]) {
  if (tgpig.y >= p.n_tokens) return; // grid sized for the largest batch
  const uint i = tgpig.x * 64 + tpitg;
  if (i >= p.n_cols) return;
  cache[kv_index(p, p.pos0 + tgpig.y, i)] = src[(ulong)tgpig.y * p.n_cols + i];
}

kernel void kernel_cpy_f32_f16(constant fr_kv_store_params & p [[buffer(0)]],
                               device const float * src [[buffer(1)]],
                               device half * cache [[buffer(2)]],
                               uint3 tgpig [[threadgroup_position_in_grid]],
                               ushort tpitg [[thread_index_in_threadgroup]]) {
  if (tgpig.y >= p.n_tokens) return; // grid sized for the largest batch
  const uint i = tgpig.x * 64 + tpitg;
  if (i >= p.n_cols) return;
  cache[kv_index(p, p.pos0 + tgpig.y, i)] = (half)src[(ulong)tgpig.y * p.n_cols + i];
}

// q8_0 as the CPU stores it: d = amax/127, q = round-half-even(x * 127/amax)
kernel void kernel_cpy_f32_q8_0(constant fr_kv_store_params & p [[buffer(0)]],
                                device const float * src [[buffer(1)]],
                                device uchar * cache [[buffer(2)]],
                                uint3 tgpig [[threadgroup_position_in_grid]],
                                ushort tpitg [[thread_index_in_threadgroup]]) {
  if (tgpig.y >= p.n_tokens) return; // grid sized for the largest batch
  const uint ib = tgpig.x * 64 + tpitg;
  if (ib >= p.n_cols / 32) return;
  device const float * x = src + (ulong)tgpig.y * p.n_cols + ib * 32;
  device uchar * b = cache + kv_index(p, p.pos0 + tgpig.y, ib * 32) / 32 * 34; // head_dim % 32 == 0
  float amax = 0.0f;
  for (uint j = 0; j < 32; j++) amax = max(amax, fabs(x[j]));
  const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
  *(device half *)b = (half)(amax / 127.0f);
  device char * q = (device char *)(b + 2);
  for (uint j = 0; j < 32; j++) q[j] = (char)clamp(rint(x[j] * id), -128.0f, 127.0f);
}
