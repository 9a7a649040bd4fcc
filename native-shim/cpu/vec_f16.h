/*
 * vec_f16.h — the f16 vector steps of ggml's flash attention, with ggml's
 * rounding: every result is rounded to f16 (nearest even) after an f32
 * fma/multiply, and the dot product uses the accumulator layout and fold
 * order of ggml_vec_dot_f16 in its AVX2 build. The AVX2 code and the
 * portable code compute the same bits; the former is just 8 lanes wide.
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
#endif

/* blocks of 32 into 4 accumulators of 8 lanes, folded (0+2)+(1+3), the 8
 * lanes summed as halves then pairs; the tail added in double, one float
 * product at a time */
static inline float fr_dot_f16(uint32_t n, const uint16_t *x, const uint16_t *y) {
  const uint32_t np = n & ~31u;
  float r;
#if FR_VEC_F16_AVX2
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

/* y = f16(y * s) */
static inline void fr_scale_f16(uint16_t *y, uint32_t n, float s) {
  uint32_t i = 0;
#if FR_VEC_F16_AVX2
  const __m256 vs = _mm256_set1_ps(s);
  for (; i + 8 <= n; i += 8) fr_store8h(y + i, _mm256_mul_ps(fr_load8h(y + i), vs));
#endif
  for (; i < n; i++) y[i] = fr_f2h(fr_h2f(y[i]) * s);
}

/* y = f16(fma(x, s, y)) */
static inline void fr_mad_f16(uint16_t *y, const uint16_t *x, uint32_t n, float s) {
  uint32_t i = 0;
#if FR_VEC_F16_AVX2
  const __m256 vs = _mm256_set1_ps(s);
  for (; i + 8 <= n; i += 8) fr_store8h(y + i, _mm256_fmadd_ps(fr_load8h(x + i), vs, fr_load8h(y + i)));
#endif
  for (; i < n; i++) y[i] = fr_f2h(fmaf(fr_h2f(x[i]), s, fr_h2f(y[i])));
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
