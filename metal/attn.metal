// attn.metal — attn_<kv>: causal GQA attention over the KV cache, decode and prefill.
// q/dst f32 [n_tokens][n_head*head_dim]; k/v caches [n_ctx][n_head_kv*head_dim] of f32, f16
// or q8_0; query t (position pos0+t) attends to rows 0..pos0+t with an online softmax.
// Geometry: one SIMD group per (head, token): grid (n_head, n_tokens, 1), threadgroup (32,1,1);
// lanes split head_dim for the q.k dot (simd_sum) and own head_dim/32 output dims (head_dim <= 256).
#include "ferrum_metal.h"

template <typename T>
static void attn_impl(constant fr_attn_params & p, device const float * q, device const uchar * kc,
                      device const uchar * vc, device float * dst, uint h, uint t, uint lane) {
  if (t >= p.n_tokens) return; // grid sized for the largest batch
  const uint hd = p.head_dim, kvh = h / (p.n_head / p.n_head_kv);
  const uint row_elems = p.n_head_kv * hd;
  const ulong row_bytes = (ulong)(row_elems / T::BLK) * T::BYTES;
  device const float * qh = q + ((ulong)t * p.n_head + h) * hd;
  float acc[8];
  for (int i = 0; i < 8; i++) acc[i] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const uint last = p.pos0 + t;
  for (uint j = 0; j <= last; j++) {
    device const uchar * krow = kc + (ulong)j * row_bytes;
    device const uchar * vrow = vc + (ulong)j * row_bytes;
    float s = 0.0f;
    for (uint d = lane; d < hd; d += FR_SIMD) {
      const uint e = kvh * hd + d;
      s += qh[d] * T::dq(krow + (e / T::BLK) * T::BYTES, e % T::BLK);
    }
    s = simd_sum(s) * p.scale;
    const float m_new = max(m, s);
    const float corr = exp(m - m_new), pw = exp(s - m_new);
    l = l * corr + pw;
    for (uint i = 0; i * FR_SIMD + lane < hd; i++) {
      const uint e = kvh * hd + i * FR_SIMD + lane;
      acc[i] = acc[i] * corr + pw * T::dq(vrow + (e / T::BLK) * T::BYTES, e % T::BLK);
    }
    m = m_new;
  }
  device float * out = dst + ((ulong)t * p.n_head + h) * hd;
  for (uint i = 0; i * FR_SIMD + lane < hd; i++) out[i * FR_SIMD + lane] = acc[i] / l;
}

#define FR_ATTN(T) \
kernel void kernel_attn_##T(constant fr_attn_params & p [[buffer(0)]], \
                            device const float * q [[buffer(1)]], \
                            device const uchar * k [[buffer(2)]], \
                            device const uchar * v [[buffer(3)]], \
                            device float * dst [[buffer(4)]], \
                            uint3 tgpig [[threadgroup_position_in_grid]], \
                            ushort tiisg [[thread_index_in_simdgroup]]) { \
  attn_impl<fr_##T>(p, q, k, v, dst, tgpig.x, tgpig.y, tiisg); \
}

FR_ATTN(f32)
FR_ATTN(f16)
FR_ATTN(q8_0)
