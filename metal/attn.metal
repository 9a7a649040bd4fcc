// attn.metal — attn_<kv>: causal GQA attention over the KV cache, decode and prefill.
// q/dst f32 [n_tokens][n_head*head_dim]; k/v caches of f32, f16 or q8_0, head-major in blocks of
// positions (fr_kv_row); query t (position pos0+t) attends to rows 0..pos0+t with an online softmax.
// Geometry: one threadgroup per (KV head, token): grid (n_head_kv, n_tokens, 1), threadgroup
// (32 * n_head/n_head_kv, 1, 1): the threadgroup stages each K/V row of its KV head once in
// threadgroup memory, and its SIMD groups (one per query head of the GQA group) read it there;
// lanes split head_dim for the q.k dot (simd_sum) and own head_dim/32 output dims (head_dim <= 256).
#include "ferrum_metal.h"

template <typename T>
static void attn_impl(constant fr_attn_params & p, device const float * q, device const uchar * kc,
                      device const uchar * vc, device float * dst, threadgroup float * ks, threadgroup float * vs,
                      uint kvh, uint t, uint tiitg, uint lane, uint sg) {
  if (t >= p.n_tokens) return; // grid sized for the largest batch; uniform per threadgroup
  const uint hd = p.head_dim, gqa = p.n_head / p.n_head_kv, h = kvh * gqa + sg, nthr = gqa * FR_SIMD;
  const ulong row_bytes = (ulong)(hd / T::BLK) * T::BYTES; // one KV head's row
  device const float * qh = q + ((ulong)t * p.n_head + h) * hd;
  float qr[8], acc[8]; // this lane's dims lane, lane + 32, ...: q read once
  for (int i = 0; i < 8; i++) {
    acc[i] = 0.0f;
    qr[i] = i * FR_SIMD + lane < hd ? qh[i * FR_SIMD + lane] : 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const uint last = p.pos0 + t;
  for (uint j = 0; j <= last; j++) {
    const ulong at = fr_kv_row(kvh, j, p.n_head_kv, p.n_ctx) * row_bytes;
    device const uchar * krow = kc + at;
    device const uchar * vrow = vc + at;
    for (uint d = tiitg; d < hd; d += nthr) { // this KV head's slice of row j, once per threadgroup
      ks[d] = T::dq(krow + (d / T::BLK) * T::BYTES, d % T::BLK);
      vs[d] = T::dq(vrow + (d / T::BLK) * T::BYTES, d % T::BLK);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float s = 0.0f;
    for (uint i = 0; i * FR_SIMD + lane < hd; i++) s += qr[i] * ks[i * FR_SIMD + lane];
    s = simd_sum(s) * p.scale;
    const float m_new = max(m, s);
    const float corr = exp(m - m_new), pw = exp(s - m_new);
    l = l * corr + pw;
    for (uint i = 0; i * FR_SIMD + lane < hd; i++) acc[i] = acc[i] * corr + pw * vs[i * FR_SIMD + lane];
    m = m_new;
    threadgroup_barrier(mem_flags::mem_threadgroup);
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
                            ushort tiitg [[thread_index_in_threadgroup]], \
                            ushort tiisg [[thread_index_in_simdgroup]], \
                            ushort sgitg [[simdgroup_index_in_threadgroup]]) { \
  threadgroup float ks[256]; \
  threadgroup float vs[256]; \
  attn_impl<fr_##T>(p, q, k, v, dst, ks, vs, tgpig.x, tgpig.y, tiitg, tiisg, sgitg); \
}

FR_ATTN(f32)
FR_ATTN(f16)
FR_ATTN(q8_0)
