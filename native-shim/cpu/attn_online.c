/*
 * attn_online.c — one query row at a time, as ggml's
 * flash_attn_ext_f16_one_chunk: running max M and sum S in float, and for
 * F16 caches the V accumulator itself is an F16 vector, so every rescale
 * and every multiply-add rounds to half precision like llama.cpp's does.
 * For F16/F32 caches this route reproduces node-llama-cpp's CPU output bit
 * for bit (test/native/ggml_parity.c), which is why the rounding steps
 * below are spelled out (S*ms + vs unfused, V updates fused).
 */
#include <math.h>
#include <string.h>

#include "attn.h"
#include "half.h"
#include "vec_f16.h"

static inline uint64_t pad64(uint64_t n) { return (n + 63) & ~(uint64_t)63; }

uint64_t fr_attn_online_scratch(uint32_t d) {
  /* Q in vec_dot_type (<= 4 B/elem), f32 row rounded to f16, f16 and f32 accumulators, V as f32 */
  return pad64((uint64_t)d * 4) + pad64((uint64_t)d * 2) * 2 + pad64((uint64_t)d * 4) * 2;
}

void fr_attn_online_row(const fr_attn_ctx *c, uint8_t *scratch, uint32_t t, uint32_t h) {
  const fr_attn_params *p = c->p;
  const uint32_t d = p->head_dim;
  const uint32_t g = h / (p->n_head / p->n_head_kv);
  const int quantized = c->kv_type == FR_TYPE_Q8_0;
  const int f32_cache = c->kv_type == FR_TYPE_F32;

  uint8_t *qq = scratch;                                          /* Q in vec_dot_type */
  uint16_t *row16 = (uint16_t *)(qq + pad64((uint64_t)d * 4));     /* an f32 K or V row rounded to f16 */
  uint16_t *acc16 = (uint16_t *)((uint8_t *)row16 + pad64((uint64_t)d * 2));
  float *acc32 = (float *)((uint8_t *)acc16 + pad64((uint64_t)d * 2));
  float *v32 = (float *)((uint8_t *)acc32 + pad64((uint64_t)d * 4));

  const float *q = c->q + ((uint64_t)t * p->n_head + h) * d;
  c->q_convert(q, qq, d);
  if (quantized)
    memset(acc32, 0, (size_t)d * sizeof(float));
  else
    memset(acc16, 0, (size_t)d * sizeof(uint16_t));

  float S = 0.0f, M = -INFINITY;
  const uint64_t n_kv = (uint64_t)p->pos0 + t + 1;
  for (uint64_t ic = 0; ic < n_kv; ic++) {
    const uint8_t *krow = c->k + ic * c->row_bytes + g * c->head_bytes;
    const uint8_t *vrow = c->v + ic * c->row_bytes + g * c->head_bytes;
    if (f32_cache) {
      fr_round_f16((const float *)krow, row16, d);
      krow = (const uint8_t *)row16;
    }
    float s;
    if (quantized)
      c->kq_dot((int)d, &s, krow, qq);
    else
      s = fr_dot_f16(d, (const uint16_t *)krow, (const uint16_t *)qq);
    s = s * p->scale;

    const float m_old = M;
    float ms = 1.0f, vs = 1.0f;
    if (s > M) {
      M = s;
      ms = expf(m_old - M);
    } else {
      vs = expf(s - M);
    }
    if (quantized) {
      if (ms != 1.0f)
        for (uint32_t i = 0; i < d; i++) acc32[i] *= ms;
      c->v_to_float(vrow, v32, d);
      for (uint32_t i = 0; i < d; i++) acc32[i] = fmaf(v32[i], vs, acc32[i]);
    } else {
      if (ms != 1.0f) fr_scale_f16(acc16, d, ms);
      if (f32_cache) {
        fr_round_f16((const float *)vrow, row16, d);
        vrow = (const uint8_t *)row16;
      }
      fr_mad_f16(acc16, (const uint16_t *)vrow, d, vs);
    }
    S = S * ms + vs;
  }

  if (!quantized)
    for (uint32_t i = 0; i < d; i++) acc32[i] = fr_h2f(acc16[i]);
  const float s_inv = S == 0.0f ? 0.0f : 1.0f / S;
  float *out = c->dst + ((uint64_t)t * p->n_head + h) * d;
  for (uint32_t i = 0; i < d; i++) out[i] = acc32[i] * s_inv;
}
