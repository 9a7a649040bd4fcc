/*
 * vexpf.h — ggml_v_expf, the vectorised expf of ggml's AVX2 build, which
 * its softmax, SiLU/SwiGLU and tiled flash attention run on every full
 * group of 8 floats (the leftovers go through libm expf). It differs from
 * expf by up to ~1.5 ulp, so ferrum computes the very same steps: one
 * lane at a time (fr_vexpf) or 8 at once with AVX2 (fr_vexpf8), both
 * giving ggml's bits.
 */
#ifndef FERRUM_CPU_VEXPF_H
#define FERRUM_CPU_VEXPF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FR_VEXPF_AVX2 1
#endif

/* the constants of ggml_v_expf: round-to-integer shift, log2(e), ln(2) as
 * a hi/lo pair, the polynomial in b = x - n*ln2 (highest degree first) */
#define FR_VEXP_SHIFT 0x1.8p23f
#define FR_VEXP_LOG2E 0x1.715476p+0f
#define FR_VEXP_LN2_HI 0x1.62e4p-1f
#define FR_VEXP_LN2_LO 0x1.7f7d1cp-20f
#define FR_VEXP_P5 0x1.0e4020p-7f
#define FR_VEXP_P4 0x1.573e2ep-5f
#define FR_VEXP_P3 0x1.555e66p-3f
#define FR_VEXP_P2 0x1.fffdb6p-2f
#define FR_VEXP_P1 0x1.ffffecp-1f

static inline uint32_t fr_vexp_f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static inline float fr_vexp_u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* one lane of ggml_v_expf: exp(x) = 2^n * (1 + poly(b)); for |n| > 126 the
 * scale 2^n is applied as two factors, past 192 it saturates to 0 or inf.
 * (ggml skips the wide-range blend when no lane needs it; the blend gives
 * the same value there, so lanes are independent.) */
static inline float fr_vexpf(float x) {
  const float z = fmaf(x, FR_VEXP_LOG2E, FR_VEXP_SHIFT);
  const float n = z - FR_VEXP_SHIFT;
  const float b = fmaf(-n, FR_VEXP_LN2_LO, fmaf(-n, FR_VEXP_LN2_HI, x));
  const uint32_t e = fr_vexp_f2u(z) << 23;
  const float k = fr_vexp_u2f(e + fr_vexp_f2u(1.0f));
  const float u = b * b;
  const float j = fmaf(fmaf(fmaf(FR_VEXP_P5, b, FR_VEXP_P4), u, fmaf(FR_VEXP_P3, b, FR_VEXP_P2)), u, FR_VEXP_P1 * b);
  const float an = fabsf(n);
  if (!(an > 126.0f)) return fmaf(k, j, k);
  const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
  const float s1 = fr_vexp_u2f(g + 0x7f000000u), s2 = fr_vexp_u2f(e - g);
  if (an > 192.0f) return s1 * s1;
  return fmaf(s2, j, s2) * s1;
}

#if FR_VEXPF_AVX2
/* the same, 8 lanes; the instruction sequence of ggml_v_expf */
static inline __m256 fr_vexpf8(__m256 x) {
  const __m256 shift = _mm256_set1_ps(FR_VEXP_SHIFT);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(FR_VEXP_LOG2E), shift);
  const __m256 n = _mm256_sub_ps(z, shift);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(FR_VEXP_LN2_LO),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(FR_VEXP_LN2_HI), x));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
  const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 c = _mm256_cmp_ps(an, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(FR_VEXP_P5), b, _mm256_set1_ps(FR_VEXP_P4)), u,
                      _mm256_fmadd_ps(_mm256_set1_ps(FR_VEXP_P3), b, _mm256_set1_ps(FR_VEXP_P2))),
      u, _mm256_mul_ps(_mm256_set1_ps(FR_VEXP_P1), b));
  if (!_mm256_movemask_ps(c)) return _mm256_fmadd_ps(j, k, k);
  const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                     _mm256_set1_epi32((int)0x82000000u));
  const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
  const __m256 d = _mm256_cmp_ps(an, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
  const __m256 mid = _mm256_blendv_ps(_mm256_fmadd_ps(k, j, k), _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1), c);
  return _mm256_blendv_ps(mid, _mm256_mul_ps(s1, s1), d);
}
#endif


#endif
