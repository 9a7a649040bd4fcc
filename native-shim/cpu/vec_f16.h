/*
 * vec_f16.h — the f16 vector steps of ggml's flash attention, with ggml's
 * rounding: every result is rounded to f16 (nearest even) after an f32
 * fma/multiply, and the dot product uses the accumulator layout and fold
 * order of ggml_vec_dot_f16 in its AVX2 build. The AVX2, AVX-512 and
 * portable code compute the same bits; the vector code is 8 or 16 lanes wide.
 */
#ifndef FERRUM_CPU_VEC_F16_H
#define FERRUM_CPU_VEC_F16_H

#include <math.h>
#include <stdint.h>

#include "half.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define FR_VEC_F16_AVX2 1
static inline __m256 fr_load8h(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline void fr_store8h(uint16_t *p, __m256 v) {
  _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
static inline __m256 fr_round8h(__m256 x) { return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
#endif

/* AVX-512 builds do the same per-lane steps sixteen lanes at a time */
#if FR_VEC_F16_AVX2 && defined(__AVX512F__) && defined(__AVX512DQ__)
#define FR_VEC_F16_AVX512 1
static inline __m512 fr_load16h(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline void fr_store16h(uint16_t *p, __m512 v) {
  _mm256_storeu_si256((__m256i *)p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
static inline __m512 fr_round16h(__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
#endif

/* blocks of 32 into 4 accumulators of 8 lanes, folded (0+2)+(1+3), the 8
 * lanes summed as halves then pairs; the tail added in double, one float
 * product at a time */
static inline float fr_dot_f16(uint32_t n, const uint16_t *x, const uint16_t *y) {
  const uint32_t np = n & ~31u;
  float r;
#if FR_VEC_F16_AVX512
  /* ggml's four 8-lane accumulators as two zmm (a0|a1, a2|a3): the same
   * lanes see the same fmas, and (a0+a2) + (a1+a3) is the same fold */
  __m512 a01 = _mm512_setzero_ps(), a23 = a01;
  for (uint32_t i = 0; i < np; i += 32) {
    a01 = _mm512_fmadd_ps(fr_load16h(x + i), fr_load16h(y + i), a01);
    a23 = _mm512_fmadd_ps(fr_load16h(x + i + 16), fr_load16h(y + i + 16), a23);
  }
  const __m512 t = _mm512_add_ps(a01, a23);
  const __m256 lanes = _mm256_add_ps(_mm512_castps512_ps256(t), _mm512_extractf32x8_ps(t, 1));
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
  const __m128 p = _mm_hadd_ps(h, h);
  r = _mm_cvtss_f32(_mm_hadd_ps(p, p));
#elif FR_VEC_F16_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (uint32_t i = 0; i < np; i += 32) {
    a0 = _mm256_fmadd_ps(fr_load8h(x + i), fr_load8h(y + i), a0);
    a1 = _mm256_fmadd_ps(fr_load8h(x + i + 8), fr_load8h(y + i + 8), a1);
    a2 = _mm256_fmadd_ps(fr_load8h(x + i + 16), fr_load8h(y + i + 16), a2);
    a3 = _mm256_fmadd_ps(fr_load8h(x + i + 24), fr_load8h(y + i + 24), a3);
  }
  const __m256 lanes = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
  const __m128 p = _mm_hadd_ps(h, h);
  r = _mm_cvtss_f32(_mm_hadd_ps(p, p));
#else
  float acc[4][8] = {{0}};
  for (uint32_t i = 0; i < np; i += 32)
    for (uint32_t j = 0; j < 4; j++)
      for (uint32_t l = 0; l < 8; l++) {
        const uint32_t e = i + j * 8 + l;
        acc[j][l] = fmaf(fr_h2f(x[e]), fr_h2f(y[e]), acc[j][l]);
      }
  float lane[8];
  for (uint32_t l = 0; l < 8; l++) lane[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  const float h0 = lane[0] + lane[4], h1 = lane[1] + lane[5], h2 = lane[2] + lane[6], h3 = lane[3] + lane[7];
  r = (h0 + h1) + (h2 + h3);
#endif
  double sum = (double)r;
  for (uint32_t i = np; i < n; i++) sum += (double)(fr_h2f(x[i]) * fr_h2f(y[i]));
  return (float)sum;
}

#if FR_VEC_F16_AVX512
/* fr_dot_f16(n, k, q[h]) for NH <= 4 query heads against one f16 row k,
 * q[h] already widened to f32 (exact), n a multiple of 32: the same fmas
 * per lane as fr_dot_f16, and the same fold, (a0+a2) + (a1+a3), then
 * halves, quarters and pairs, done for the heads together by shuffles that
 * keep each head's additions and their order. Per row, K is widened once
 * for all heads, and four folds cost what one did. out[h] = dot * scale. */
static inline __attribute__((always_inline)) void fr_dot_f16_heads(uint32_t n, const uint16_t *k,
                                                                   const float *const *q, const int NH,
                                                                   float scale, float *out) {
  __m512 t[4];
  for (int h = 0; h < 4; h++) t[h] = _mm512_setzero_ps();
  for (int h = 0; h < NH; h++) {
    __m512 a01 = _mm512_setzero_ps(), a23 = a01;
    for (uint32_t i = 0; i < n; i += 32) {
      a01 = _mm512_fmadd_ps(fr_load16h(k + i), _mm512_loadu_ps(q[h] + i), a01);
      a23 = _mm512_fmadd_ps(fr_load16h(k + i + 16), _mm512_loadu_ps(q[h] + i + 16), a23);
    }
    t[h] = _mm512_add_ps(a01, a23);
  }
  /* lanes k and k + 8 of each head: heads 0|1 and 2|3 side by side */
  const __m512 l01 = _mm512_add_ps(_mm512_shuffle_f32x4(t[0], t[1], 0x44), _mm512_shuffle_f32x4(t[0], t[1], 0xee));
  const __m512 l23 = _mm512_add_ps(_mm512_shuffle_f32x4(t[2], t[3], 0x44), _mm512_shuffle_f32x4(t[2], t[3], 0xee));
  /* then k and k + 4: head h's four sums in 128-bit lane h */
  const __m512 hq = _mm512_add_ps(_mm512_shuffle_f32x4(l01, l23, 0x88), _mm512_shuffle_f32x4(l01, l23, 0xdd));
  /* then (0+1) and (2+3), then their sum, in element 0 of each lane */
  const __m512 pr = _mm512_add_ps(_mm512_shuffle_ps(hq, hq, 0x88), _mm512_shuffle_ps(hq, hq, 0xdd));
  const __m512 r = _mm512_mul_ps(_mm512_add_ps(pr, _mm512_shuffle_ps(pr, pr, 0x55)), _mm512_set1_ps(scale));
  float lane[16];
  _mm512_storeu_ps(lane, r);
  for (int h = 0; h < NH; h++) out[h] = lane[4 * h];
}
#endif

/* y = x widened to f32 (exact) */
static inline void fr_widen_f16(const uint16_t *x, float *y, uint32_t n) {
  uint32_t i = 0;
#if FR_VEC_F16_AVX2
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, fr_load8h(x + i));
#endif
  for (; i < n; i++) y[i] = fr_h2f(x[i]);
}

/*
 * The V side of n consecutive cache rows (row j at v + j * stride, f16, or
 * f32 rounded to f16 as read) for NH <= FR_MAD_HEADS_MAX query heads that
 * share one KV head: for each j in turn and each head h, acc[h] =
 * f16(acc[h] * ms[h][j]) where ms[h][j] != 1, then acc[h] =
 * f16(fma(v_j, vs[h][j], acc[h])): ggml's ggml_vec_scale_f16 and
 * ggml_vec_mad_f16 per row and head, so the same bits. Each run of the
 * accumulators stays in registers across all n rows, each row's V is loaded
 * once for all heads, and the heads' dependency chains (a rounding after
 * every multiply-add) interleave instead of running one after another.
 * FR_MAD_HEADS_RUN makes one run of G vectors of L floats at element
 * offset i of every head.
 */
#define FR_MAD_HEADS_MAX 4
#define FR_MAD_HEADS_RUN(name, V, L, load_h, store_h, round_h, loadu_ps, set1_ps, mul_ps, fmadd_ps)                   \
  static inline __attribute__((always_inline)) void name(uint16_t *const *acc, const int NH, const int G, uint32_t i,  \
                                                         const uint8_t *v, uint64_t stride, uint32_t n,                \
                                                         const float *const *ms, const float *const *vs, int f32) {    \
    V a[FR_MAD_HEADS_MAX][4];                                                                                          \
    for (int h = 0; h < NH; h++)                                                                                       \
      for (int g = 0; g < G; g++) a[h][g] = load_h(acc[h] + i + L * g);                                                \
    for (uint32_t j = 0; j < n; j++) {                                                                                 \
      const uint8_t *row = v + j * stride;                                                                             \
      V x[4];                                                                                                          \
      for (int g = 0; g < G; g++)                                                                                      \
        x[g] = f32 ? round_h(loadu_ps((const float *)row + L * g)) : load_h((const uint16_t *)row + L * g);            \
      for (int h = 0; h < NH; h++) {                                                                                   \
        if (ms[h][j] != 1.0f) {                                                                                        \
          const V m = set1_ps(ms[h][j]);                                                                               \
          for (int g = 0; g < G; g++) a[h][g] = round_h(mul_ps(a[h][g], m));                                          \
        }                                                                                                              \
        const V s = set1_ps(vs[h][j]);                                                                                 \
        for (int g = 0; g < G; g++) a[h][g] = round_h(fmadd_ps(x[g], s, a[h][g]));                                     \
      }                                                                                                                \
    }                                                                                                                  \
    for (int h = 0; h < NH; h++)                                                                                       \
      for (int g = 0; g < G; g++) store_h(acc[h] + i + L * g, a[h][g]);                                                \
  }

#if FR_VEC_F16_AVX512
FR_MAD_HEADS_RUN(fr_mad_heads_run16, __m512, 16, fr_load16h, fr_store16h, fr_round16h, _mm512_loadu_ps, _mm512_set1_ps,
                 _mm512_mul_ps, _mm512_fmadd_ps)
#endif
#if FR_VEC_F16_AVX2
FR_MAD_HEADS_RUN(fr_mad_heads_run8, __m256, 8, fr_load8h, fr_store8h, fr_round8h, _mm256_loadu_ps, _mm256_set1_ps,
                 _mm256_mul_ps, _mm256_fmadd_ps)
#endif

/* NH is a constant at every call site (always_inline): the register
 * arrays above are then fixed in size */
static inline __attribute__((always_inline)) void fr_mad_heads_f16(uint16_t *const *acc, const int NH, uint32_t d,
                                                                   const uint8_t *v, uint64_t stride, uint32_t n,
                                                                   const float *const *ms, const float *const *vs,
                                                                   int f32) {
  uint32_t i = 0;
#if FR_VEC_F16_AVX2
  const uint64_t elem = f32 ? 4 : 2;
#if FR_VEC_F16_AVX512
  for (; i + 64 <= d; i += 64) fr_mad_heads_run16(acc, NH, 4, i, v + i * elem, stride, n, ms, vs, f32);
  for (; i + 16 <= d; i += 16) fr_mad_heads_run16(acc, NH, 1, i, v + i * elem, stride, n, ms, vs, f32);
#else
  for (; i + 16 <= d; i += 16) fr_mad_heads_run8(acc, NH, 2, i, v + i * elem, stride, n, ms, vs, f32);
#endif
  for (; i + 8 <= d; i += 8) fr_mad_heads_run8(acc, NH, 1, i, v + i * elem, stride, n, ms, vs, f32);
#endif
  for (int h = 0; h < NH; h++)
    for (uint32_t j = 0; j < n && i < d; j++) {
      const uint8_t *row = v + j * stride;
      for (uint32_t e = i; e < d; e++) {
        if (ms[h][j] != 1.0f) acc[h][e] = fr_f2h(fr_h2f(acc[h][e]) * ms[h][j]);
        const float x = f32 ? fr_h2f(fr_f2h(((const float *)row)[e])) : fr_h2f(((const uint16_t *)row)[e]);
        acc[h][e] = fr_f2h(fmaf(x, vs[h][j], fr_h2f(acc[h][e])));
      }
    }
}

/* y = f16(x) */
static inline void fr_round_f16(const float *x, uint16_t *y, uint32_t n) {
  uint32_t i = 0;
#if FR_VEC_F16_AVX2
  for (; i + 8 <= n; i += 8) fr_store8h(y + i, _mm256_loadu_ps(x + i));
#endif
  for (; i < n; i++) y[i] = fr_f2h(x[i]);
}

#endif
