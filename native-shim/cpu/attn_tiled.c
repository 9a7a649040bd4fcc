/*
 * attn_tiled.c — a block of up to FR_FA_TILE_Q query rows of one head, as
 * ggml's flash_attn_ext_tiled: KV in tiles of FR_FA_TILE_KV aligned at
 * position 0; per tile, scores are f32 FMA chains over head_dim in
 * ascending order, scaled, causally masked, then one online-softmax update
 * per row (tile max, rescale by expf(M_old - M_new), probabilities from
 * ggml's vectorised expf (vexpf.h) summed as float groups of 8 added in
 * double), and V accumulated as f32 FMA
 * chains over the tile's positions. Each row's result depends only on its
 * own data, so how rows are grouped into blocks does not change numerics.
 */
#include <math.h>
#include <string.h>

#include "attn.h"
#include "half.h"
#include "vec_f16.h"
#include "vexpf.h"

#define TQ FR_FA_TILE_Q
#define TKV FR_FA_TILE_KV

uint64_t fr_attn_tiled_scratch(uint32_t d) {
  /* Q[TQ][d], KQ[TQ][TKV], acc[TQ][d], Kt[d][TKV], V[TKV][d], S[TQ], M[TQ] */
  return ((uint64_t)TQ * d * 2 + (uint64_t)TQ * TKV + (uint64_t)d * TKV + (uint64_t)TKV * d + 2 * TQ) * sizeof(float) + 64;
}

static inline float hsum8(const float *e) {
  const float a0 = e[0] + e[4], a1 = e[1] + e[5], a2 = e[2] + e[6], a3 = e[3] + e[7];
  return (a0 + a2) + (a1 + a3);
}

/* one cache row of one head as f32; an f32 cache is rounded through f16 */
static void load_row(const fr_attn_ctx *c, const uint8_t *row, float *out, uint32_t d) {
  uint32_t i = 0;
  if (c->kv_type == FR_TYPE_F16) {
    const uint16_t *h = (const uint16_t *)row;
#if FR_VEC_F16_AVX2
    for (; i + 8 <= d; i += 8) _mm256_storeu_ps(out + i, fr_load8h(h + i));
#endif
    for (; i < d; i++) out[i] = fr_h2f(h[i]);
  } else {
    const float *f = (const float *)row;
    for (; i < d; i++) out[i] = fr_h2f(fr_f2h(f[i]));
  }
}

/* Scores of RB query rows against the tile: KQ[i][j] = sum over k of
 * Q[i][k] * Kt[k][j], one fma chain per (i, j) in ascending k (what ggml's
 * simd_gemm computes); the AVX2 version blocks 4 rows x 16 columns so each
 * K element loaded serves four rows. */
#define RB 4u
static void tile_scores(const float *Q, const float *Kt, float *KQ, uint32_t d) {
#if FR_VEC_F16_AVX2
  for (uint32_t cb = 0; cb < TKV; cb += 16) {
    __m256 acc[RB][2];
    for (uint32_t i = 0; i < RB; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (uint32_t k = 0; k < d; k++) {
      const __m256 b0 = _mm256_loadu_ps(Kt + (uint64_t)k * TKV + cb), b1 = _mm256_loadu_ps(Kt + (uint64_t)k * TKV + cb + 8);
      for (uint32_t i = 0; i < RB; i++) {
        const __m256 q = _mm256_set1_ps(Q[(uint64_t)i * d + k]);
        acc[i][0] = _mm256_fmadd_ps(q, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(q, b1, acc[i][1]);
      }
    }
    for (uint32_t i = 0; i < RB; i++) {
      _mm256_storeu_ps(KQ + (uint64_t)i * TKV + cb, acc[i][0]);
      _mm256_storeu_ps(KQ + (uint64_t)i * TKV + cb + 8, acc[i][1]);
    }
  }
#else
  for (uint32_t i = 0; i < RB; i++)
    for (uint32_t j = 0; j < TKV; j++) {
      float a = 0.0f;
      for (uint32_t k = 0; k < d; k++) a = fmaf(Q[(uint64_t)i * d + k], Kt[(uint64_t)k * TKV + j], a);
      KQ[(uint64_t)i * TKV + j] = a;
    }
#endif
}

/* A[i][k] += sum over j < n of P[i][j] * V[j][k] for RB rows, one fma
 * chain per (i, k) in ascending j continuing from A; zero probabilities add
 * exactly nothing, as in ggml's gemm over the whole tile */
static void tile_accumulate(float *A, const float *P, const float *V, uint32_t n, uint32_t d) {
  uint32_t k0 = 0;
#if FR_VEC_F16_AVX2
  for (; k0 + 16 <= d; k0 += 16) {
    __m256 acc[RB][2];
    for (uint32_t i = 0; i < RB; i++) {
      acc[i][0] = _mm256_loadu_ps(A + (uint64_t)i * d + k0);
      acc[i][1] = _mm256_loadu_ps(A + (uint64_t)i * d + k0 + 8);
    }
    for (uint32_t j = 0; j < n; j++) {
      const __m256 v0 = _mm256_loadu_ps(V + (uint64_t)j * d + k0), v1 = _mm256_loadu_ps(V + (uint64_t)j * d + k0 + 8);
      for (uint32_t i = 0; i < RB; i++) {
        const __m256 pj = _mm256_set1_ps(P[(uint64_t)i * TKV + j]);
        acc[i][0] = _mm256_fmadd_ps(pj, v0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(pj, v1, acc[i][1]);
      }
    }
    for (uint32_t i = 0; i < RB; i++) {
      _mm256_storeu_ps(A + (uint64_t)i * d + k0, acc[i][0]);
      _mm256_storeu_ps(A + (uint64_t)i * d + k0 + 8, acc[i][1]);
    }
  }
#endif
  for (uint32_t i = 0; i < RB; i++)
    for (uint32_t k = k0; k < d; k++) {
      float a = A[(uint64_t)i * d + k];
      for (uint32_t j = 0; j < n; j++) a = fmaf(P[(uint64_t)i * TKV + j], V[(uint64_t)j * d + k], a);
      A[(uint64_t)i * d + k] = a;
    }
}

/* One row's online-softmax update for this tile: scale and mask its
 * scores, fold the tile max into M, rescale the row's accumulator and sum,
 * and leave the probabilities in kq (all zero when nothing is visible). */
static void softmax_update(const fr_attn_params *p, float *kq, float *a, float *S, float *M, uint32_t kv_tile,
                           uint64_t ic, uint64_t last) {
  float tile_max = -INFINITY;
  for (uint32_t j = 0; j < TKV; j++) {
    kq[j] = j < kv_tile && ic + j <= last ? kq[j] * p->scale : -INFINITY;
    if (kq[j] > tile_max) tile_max = kq[j];
  }
  if (tile_max == -INFINITY) {
    memset(kq, 0, TKV * sizeof(float));
    return;
  }
  const float m_new = fmaxf(*M, tile_max);
  if (m_new > *M) {
    const float ms = expf(*M - m_new);
    for (uint32_t k = 0; k < p->head_dim; k++) a[k] *= ms;
    *S *= ms;
  }
  *M = m_new;
  double sum = 0.0;
  for (uint32_t j = 0; j < TKV; j += 8) {
#if FR_VEXPF_AVX2
    _mm256_storeu_ps(kq + j, fr_vexpf8(_mm256_sub_ps(_mm256_loadu_ps(kq + j), _mm256_set1_ps(m_new))));
#else
    for (uint32_t e = 0; e < 8; e++) kq[j + e] = fr_vexpf(kq[j + e] - m_new);
#endif
    sum += (double)hsum8(kq + j);
  }
  *S = (float)((double)*S + sum);
}

void fr_attn_tiled_block(const fr_attn_ctx *c, uint8_t *scratch, uint32_t h, uint32_t t0, uint32_t rows) {
  const fr_attn_params *p = c->p;
  const uint32_t d = p->head_dim;
  const uint32_t g = h / (p->n_head / p->n_head_kv);
  const uint32_t rows_padded = (rows + RB - 1) / RB * RB; /* <= TQ; padding rows are zero and ignored */
  float *Q = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  float *KQ = Q + (uint64_t)TQ * d;
  float *acc = KQ + (uint64_t)TQ * TKV;
  float *Kt = acc + (uint64_t)TQ * d;
  float *V = Kt + (uint64_t)d * TKV;
  float *S = V + (uint64_t)TKV * d;
  float *M = S + TQ;

  memset(Q, 0, (size_t)rows_padded * d * sizeof(float));
  memset(acc, 0, (size_t)rows_padded * d * sizeof(float));
  for (uint32_t i = 0; i < rows; i++) {
    memcpy(Q + (uint64_t)i * d, c->q + ((uint64_t)(t0 + i) * p->n_head + h) * d, (size_t)d * sizeof(float));
    S[i] = 0.0f;
    M[i] = -INFINITY;
  }

  const uint64_t kv_end = (uint64_t)p->pos0 + t0 + rows; /* the last row sees [0, kv_end) */
  for (uint64_t ic = 0; ic < kv_end; ic += TKV) {
    const uint32_t kv_tile = (uint32_t)(kv_end - ic < TKV ? kv_end - ic : TKV);
    for (uint32_t j = 0; j < kv_tile; j++) {
      load_row(c, fr_attn_row(c, c->k, g, ic + j), V, d); /* V stages the transpose */
      for (uint32_t k = 0; k < d; k++) Kt[(uint64_t)k * TKV + j] = V[k];
    }
    if (kv_tile < TKV) /* keep the unused columns finite; they are masked anyway */
      for (uint32_t k = 0; k < d; k++) memset(Kt + (uint64_t)k * TKV + kv_tile, 0, (TKV - kv_tile) * sizeof(float));
    for (uint32_t j = 0; j < kv_tile; j++)
      load_row(c, fr_attn_row(c, c->v, g, ic + j), V + (uint64_t)j * d, d);

    for (uint32_t i = 0; i < rows_padded; i += RB) tile_scores(Q + (uint64_t)i * d, Kt, KQ + (uint64_t)i * TKV, d);
    for (uint32_t i = 0; i < rows_padded; i++) {
      float *kq = KQ + (uint64_t)i * TKV;
      if (i >= rows)
        memset(kq, 0, TKV * sizeof(float));
      else
        softmax_update(p, kq, acc + (uint64_t)i * d, &S[i], &M[i], kv_tile, ic, (uint64_t)p->pos0 + t0 + i);
    }
    for (uint32_t i = 0; i < rows_padded; i += RB)
      tile_accumulate(acc + (uint64_t)i * d, KQ + (uint64_t)i * TKV, V, kv_tile, d);
  }

  for (uint32_t i = 0; i < rows; i++) {
    const float s_inv = S[i] == 0.0f ? 0.0f : 1.0f / S[i];
    float *out = c->dst + ((uint64_t)(t0 + i) * p->n_head + h) * d;
    const float *a = acc + (uint64_t)i * d;
    for (uint32_t k = 0; k < d; k++) out[k] = a[k] * s_inv;
  }
}
