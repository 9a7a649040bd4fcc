/*
 * fp.c — the unquantized types: F32, F16, BF16. Their "activation type" is
 * themselves, so from_float is a plain conversion and vec_dot a float dot.
 */
#include "kernels.h"

#include "../vec_f16.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FR_FP_AVX2 1
#endif

/*
 * Two summation orders per type, both ggml's as compiled into the AVX2
 * build (libggml-cpu-haswell.so) node-llama-cpp runs:
 *  - vec_dot: ggml_vec_dot_<type>, which mul_mat uses for one token: four
 *    8-lane FMA accumulators over blocks of 32, folded (0+2)+(1+3), then
 *    reduced to one float (frq_hadd8 for f32/f16, frq_hsum8 for bf16); the
 *    n % 32 tail is added after that.
 *  - gemm_dot: llamafile_sgemm's tinyBLAS<8, __m256>, which mul_mat uses
 *    for 2+ tokens when rows % 4 == 0 and cols % 8 == 0 (see
 *    fr_gemm_dot_applies): one 8-lane FMA accumulator over the whole row,
 *    reduced by frq_hsum8. n must be a multiple of 8.
 * The AVX2 code and the portable code compute the same bits.
 */

/* gemm order over 8-lane blocks: lane l accumulates elements 8i+l */
#define FR_GEMM_DOT(name, T, widen)                                  \
  void name(int n, float *s, const void *w, const void *a) {          \
    const T *restrict x = w;                                          \
    const T *restrict y = a;                                          \
    float acc[8] = {0};                                               \
    for (int i = 0; i + 8 <= n; i += 8)                               \
      for (int l = 0; l < 8; l++) acc[l] = fmaf(widen(x[i + l]), widen(y[i + l]), acc[l]); \
    *s = frq_hsum8(acc);                                              \
  }

static inline float fr_id(float v) { return v; }

#if FR_FP_AVX2
static inline __m256 fr_ld8_f32(const float *p) { return _mm256_loadu_ps(p); }
static inline __m256 fr_ld8_f16(const fr_half *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline __m256 fr_ld8_bf16(const uint16_t *p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
static inline float fr_hsum8_v(__m256 v) {
  float l[8];
  _mm256_storeu_ps(l, v);
  return frq_hsum8(l);
}
#define FR_GEMM_DOT_AVX2(name, T, load)                               \
  void name(int n, float *s, const void *w, const void *a) {          \
    const T *restrict x = w;                                          \
    const T *restrict y = a;                                          \
    __m256 acc = _mm256_setzero_ps();                                 \
    for (int i = 0; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(load(x + i), load(y + i), acc); \
    *s = fr_hsum8_v(acc);                                             \
  }
FR_GEMM_DOT_AVX2(fr_gemm_dot_f32, float, fr_ld8_f32)
FR_GEMM_DOT_AVX2(fr_gemm_dot_f16, fr_half, fr_ld8_f16)
#if !FR_QUANTS_BF16
FR_GEMM_DOT_AVX2(fr_gemm_dot_bf16, uint16_t, fr_ld8_bf16)
#endif

/* the public tile: runs of at most `most` (<= 6) tokens, each through the
 * name##_nt form compiled for its count */
#define FR_TILE_BY_TOKENS(name, most)                                                                         \
  void name(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,           \
            size_t a_stride) {                                                                                \
    for (int k; nt > 0; nt -= k, s += k * s_stride, a = (const uint8_t *)a + k * a_stride) {                  \
      k = nt < (most) ? nt : (most);                                                                          \
      switch (k) {                                                                                            \
      case 6: name##_nt(n, 6, s, s_stride, w, w_stride, a, a_stride); break;                                  \
      case 5: name##_nt(n, 5, s, s_stride, w, w_stride, a, a_stride); break;                                  \
      case 4: name##_nt(n, 4, s, s_stride, w, w_stride, a, a_stride); break;                                  \
      case 3: name##_nt(n, 3, s, s_stride, w, w_stride, a, a_stride); break;                                  \
      case 2: name##_nt(n, 2, s, s_stride, w, w_stride, a, a_stride); break;                                  \
      default: name##_nt(n, 1, s, s_stride, w, w_stride, a, a_stride); break;                                 \
      }                                                                                                       \
    }                                                                                                         \
  }

/*
 * Register tiles of the same dot (fr_dot_tile_fn): four rows x up to
 * FR_FP_TILE_TOKENS tokens at a time, each accumulator summed exactly as the
 * one-dot form above sums it. Three tokens where there are sixteen vector
 * registers (tinyBLAS's AVX2 tile is 4 x 3 too: twelve sums, four rows, one
 * token); six in AVX-512 builds, whose 32 registers hold 24 sums, so each
 * converted weight vector serves twice the tokens. One accumulator alone
 * waits on its FMA's latency; twelve or more keep the units busy.
 */
#if FR_QUANTS_AVX512
#define FR_FP_TILE_TOKENS 6
#else
#define FR_FP_TILE_TOKENS 3
#endif
#define FR_GEMM_TILE_AVX2(name, T, load)                                                                      \
  static inline __attribute__((always_inline)) void name##_nt(int n, const int nt, float *s, size_t s_stride,   \
                                                              const void *w, size_t w_stride, const void *a,    \
                                                              size_t a_stride) {                                \
    const T *x[4], *y[6];                                                                                     \
    for (int r = 0; r < 4; r++) x[r] = (const T *)((const uint8_t *)w + r * w_stride);                        \
    for (int t = 0; t < nt; t++) y[t] = (const T *)((const uint8_t *)a + t * a_stride);                       \
    __m256 c[6][4];                                                                                           \
    for (int t = 0; t < nt; t++)                                                                              \
      for (int r = 0; r < 4; r++) c[t][r] = _mm256_setzero_ps();                                              \
    for (int i = 0; i + 8 <= n; i += 8) {                                                                     \
      __m256 xv[4];                                                                                           \
      for (int r = 0; r < 4; r++) xv[r] = load(x[r] + i);                                                     \
      for (int t = 0; t < nt; t++) {                                                                          \
        const __m256 yv = load(y[t] + i);                                                                     \
        for (int r = 0; r < 4; r++) c[t][r] = _mm256_fmadd_ps(xv[r], yv, c[t][r]);                            \
      }                                                                                                       \
    }                                                                                                         \
    for (int t = 0; t < nt; t++)                                                                              \
      for (int r = 0; r < 4; r++) s[t * s_stride + r] = fr_hsum8_v(c[t][r]);                                  \
  }                                                                                                           \
  FR_TILE_BY_TOKENS(name, FR_FP_TILE_TOKENS)
FR_GEMM_TILE_AVX2(fr_gemm_dot_tile_f32, float, fr_ld8_f32)
FR_GEMM_TILE_AVX2(fr_gemm_dot_tile_f16, fr_half, fr_ld8_f16)
#if !FR_QUANTS_BF16
FR_GEMM_TILE_AVX2(fr_gemm_dot_tile_bf16, uint16_t, fr_ld8_bf16)
#endif

#if FR_QUANTS_AVX512
/*
 * Eight rows x up to six tokens in the same 8-lane order, two rows to a
 * zmm: row 2p in the low eight lanes, row 2p+1 in the high eight, each
 * token's eight activations broadcast to both halves. Every lane runs the
 * FMA chain it runs in the 8-lane tile, so every half reduces to the same
 * bits, with half the FMA instructions (24 zmm FMAs cover 48 sums). The
 * activations arrive as f32 (mul_mat widens the vec_dot_type rows once,
 * exactly), so only the weights are converted in the loop.
 */
static inline __m512 fr_ld8x2_f32(const float *a, const float *b) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a)), _mm256_loadu_ps(b), 1);
}
static inline __m256i fr_ld128x2(const void *a, const void *b) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                 _mm_loadu_si128((const __m128i *)b), 1);
}
static inline __m512 fr_ld8x2_f16(const fr_half *a, const fr_half *b) { return _mm512_cvtph_ps(fr_ld128x2(a, b)); }
static inline __m512 fr_ld8x2_bf16(const uint16_t *a, const uint16_t *b) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(fr_ld128x2(a, b)), 16));
}
#define FR_GEMM_TILE8_AVX512(name, T, load2)                                                                  \
  static inline __attribute__((always_inline)) void name##_nt(int n, const int nt, float *s, size_t s_stride,   \
                                                              const void *w, size_t w_stride, const void *a,    \
                                                              size_t a_stride) {                                \
    const T *x[8];                                                                                            \
    const float *y[6];                                                                                        \
    for (int r = 0; r < 8; r++) x[r] = (const T *)((const uint8_t *)w + r * w_stride);                        \
    for (int t = 0; t < nt; t++) y[t] = (const float *)((const uint8_t *)a + t * a_stride);                   \
    __m512 c[6][4];                                                                                           \
    for (int t = 0; t < nt; t++)                                                                              \
      for (int p = 0; p < 4; p++) c[t][p] = _mm512_setzero_ps();                                              \
    for (int i = 0; i + 8 <= n; i += 8) {                                                                     \
      __m512 xv[4];                                                                                           \
      for (int p = 0; p < 4; p++) xv[p] = load2(x[2 * p] + i, x[2 * p + 1] + i);                              \
      for (int t = 0; t < nt; t++) {                                                                          \
        const __m512 yv = _mm512_broadcast_f32x8(_mm256_loadu_ps(y[t] + i));                                  \
        for (int p = 0; p < 4; p++) c[t][p] = _mm512_fmadd_ps(xv[p], yv, c[t][p]);                            \
      }                                                                                                       \
    }                                                                                                         \
    for (int t = 0; t < nt; t++)                                                                              \
      for (int p = 0; p < 4; p++) {                                                                           \
        float l[16];                                                                                          \
        _mm512_storeu_ps(l, c[t][p]);                                                                         \
        s[t * s_stride + 2 * p] = frq_hsum8(l);                                                               \
        s[t * s_stride + 2 * p + 1] = frq_hsum8(l + 8);                                                       \
      }                                                                                                       \
  }                                                                                                           \
  FR_TILE_BY_TOKENS(name, FR_DOT_TILE_TOKENS)
FR_GEMM_TILE8_AVX512(fr_gemm_dot_tile8_f32, float, fr_ld8x2_f32)
FR_GEMM_TILE8_AVX512(fr_gemm_dot_tile8_f16, fr_half, fr_ld8x2_f16)
#if !FR_QUANTS_BF16
FR_GEMM_TILE8_AVX512(fr_gemm_dot_tile8_bf16, uint16_t, fr_ld8x2_bf16)
#endif
#endif
#else
FR_GEMM_DOT(fr_gemm_dot_f32, float, fr_id)
FR_GEMM_DOT(fr_gemm_dot_f16, fr_half, frq_h2f)
FR_GEMM_DOT(fr_gemm_dot_bf16, uint16_t, frq_bf2f)
#endif

float fr_fp16_to_fp32(uint16_t h) { return frq_h2f(h); }
uint16_t fr_fp32_to_fp16(float f) { return frq_f2h(f); }
float fr_bf16_to_fp32(uint16_t h) { return frq_bf2f(h); }
uint16_t fr_fp32_to_bf16(float f) { return frq_f2bf(f); }

void fr_f32_to_float(const void *x, float *y, int64_t n) {
  memcpy(y, x, (size_t)n * sizeof(float));
}

void fr_f32_from_float(const float *x, void *y, int64_t n) {
  memcpy(y, x, (size_t)n * sizeof(float));
}

void fr_vec_dot_f32(int n, float *s, const void *w, const void *a) {
  const float *restrict x = w;
  const float *restrict y = a;
  const int np = n & ~31;
  float acc[4][8] = {{0}};
  for (int i = 0; i < np; i += 32)
    for (int j = 0; j < 4; j++)
      for (int l = 0; l < 8; l++) acc[j][l] = fmaf(x[i + 8 * j + l], y[i + 8 * j + l], acc[j][l]);
  float lane[8];
  for (int l = 0; l < 8; l++) lane[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  float sum = frq_hadd8(lane);
  /* the tail, in float, as GCC compiled ggml's `sumf += x[i]*y[i]`: it
   * vectorised the first (n - np) & ~3 products (rounded, then added in
   * order) and contracted the last (n - np) % 4 into FMAs */
  const int fused = np + ((n - np) & ~3);
  for (int i = np; i < fused; i++) sum += x[i] * y[i];
  for (int i = fused; i < n; i++) sum = fmaf(x[i], y[i], sum);
  *s = sum;
}

void fr_f16_to_float(const void *x, float *y, int64_t n) {
  const fr_half *restrict h = x;
  for (int64_t i = 0; i < n; i++) y[i] = frq_h2f(h[i]);
}

void fr_f16_from_float(const float *x, void *y, int64_t n) {
  fr_half *restrict h = y;
  for (int64_t i = 0; i < n; i++) h[i] = frq_f2h(x[i]);
}

void fr_vec_dot_f16(int n, float *s, const void *w, const void *a) {
  /* ggml_vec_dot_f16: the attention's KQ dot (vec_f16.h) */
  *s = fr_dot_f16((uint32_t)n, (const uint16_t *)w, (const uint16_t *)a);
}

void fr_bf16_to_float(const void *x, float *y, int64_t n) {
  const uint16_t *restrict h = x;
  for (int64_t i = 0; i < n; i++) y[i] = frq_bf2f(h[i]);
}

void fr_bf16_from_float(const float *x, void *y, int64_t n) {
  uint16_t *restrict h = y;
  for (int64_t i = 0; i < n; i++) h[i] = frq_f2bf(x[i]);
}

#if FR_QUANTS_BF16
/*
 * The avx512bf16 build sums BF16 as ggml's zen4 build (libggml-cpu-zen4.so):
 * vdpbf16ps multiplies pairs of bf16 and adds both products to a float lane
 * (rounding after each add, odd element first: its own order, which only
 * the instruction itself reproduces, so these paths exist only where it
 * runs). _mm512_reduce_add_ps folds halves: 512 -> 256 -> 128 bits, then
 * lanes (0+2, 1+3), then those two; written out so any compiler gives it.
 */
static inline float fr_reduce16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  const __m128 p = _mm_add_ps(q, _mm_shuffle_ps(q, q, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtss_f32(p) + _mm_cvtss_f32(_mm_shuffle_ps(p, p, 1));
}

static inline __m512bh fr_ld32_bf16(const uint16_t *p) { return (__m512bh)_mm512_loadu_si512((const void *)p); }

/* ggml_vec_dot_bf16: two accumulators over runs of 64, each reduced, summed
 * in double with the scalar tail */
void fr_vec_dot_bf16(int n, float *s, const void *w, const void *a) {
  const uint16_t *restrict x = w;
  const uint16_t *restrict y = a;
  __m512 c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 64 <= n; i += 64) {
    c1 = _mm512_dpbf16_ps(c1, fr_ld32_bf16(x + i), fr_ld32_bf16(y + i));
    c2 = _mm512_dpbf16_ps(c2, fr_ld32_bf16(x + i + 32), fr_ld32_bf16(y + i + 32));
  }
  double sum = (double)fr_reduce16(c1);
  sum += (double)fr_reduce16(c2);
  for (; i < n; i++) sum += (double)(frq_bf2f(x[i]) * frq_bf2f(y[i]));
  *s = (float)sum;
}

/* tinyBLAS<32, __m512, __m512bh>: one accumulator over runs of 32, reduced
 * once; n is a multiple of 32 (FR_BF16_GEMM_K) */
void fr_gemm_dot_bf16(int n, float *s, const void *w, const void *a) {
  const uint16_t *restrict x = w;
  const uint16_t *restrict y = a;
  __m512 c = _mm512_setzero_ps();
  for (int i = 0; i + 32 <= n; i += 32) c = _mm512_dpbf16_ps(c, fr_ld32_bf16(x + i), fr_ld32_bf16(y + i));
  *s = fr_reduce16(c);
}

/* four weight rows x nt tokens, each accumulator summed as
 * fr_gemm_dot_bf16 sums it (tinyBLAS's register tile: at nt = 6, ten loads
 * per 24 vdpbf16ps, and 24 independent chains where one dot has one, which
 * the instruction's latency bounds) */
static inline __attribute__((always_inline)) void bf16_tile(int n, const int nt, float *s, size_t s_stride,
                                                            const void *w, size_t w_stride, const void *a,
                                                            size_t a_stride) {
  const uint16_t *x[4], *y[FR_DOT_TILE_TOKENS];
  for (int r = 0; r < 4; r++) x[r] = (const uint16_t *)((const uint8_t *)w + r * w_stride);
  for (int t = 0; t < nt; t++) y[t] = (const uint16_t *)((const uint8_t *)a + t * a_stride);
  __m512 c[FR_DOT_TILE_TOKENS][4];
  for (int t = 0; t < nt; t++)
    for (int r = 0; r < 4; r++) c[t][r] = _mm512_setzero_ps();
  for (int i = 0; i + 32 <= n; i += 32) {
    __m512bh xv[4];
    for (int r = 0; r < 4; r++) xv[r] = fr_ld32_bf16(x[r] + i);
    for (int t = 0; t < nt; t++) {
      const __m512bh yv = fr_ld32_bf16(y[t] + i);
      for (int r = 0; r < 4; r++) c[t][r] = _mm512_dpbf16_ps(c[t][r], xv[r], yv);
    }
  }
  for (int t = 0; t < nt; t++)
    for (int r = 0; r < 4; r++) s[t * s_stride + r] = fr_reduce16(c[t][r]);
}

void fr_gemm_dot_tile_bf16(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                           size_t a_stride) {
  switch (nt) {
  case 6: bf16_tile(n, 6, s, s_stride, w, w_stride, a, a_stride); break;
  case 5: bf16_tile(n, 5, s, s_stride, w, w_stride, a, a_stride); break;
  case 4: bf16_tile(n, 4, s, s_stride, w, w_stride, a, a_stride); break;
  case 3: bf16_tile(n, 3, s, s_stride, w, w_stride, a, a_stride); break;
  case 2: bf16_tile(n, 2, s, s_stride, w, w_stride, a, a_stride); break;
  default: bf16_tile(n, 1, s, s_stride, w, w_stride, a, a_stride); break;
  }
}
#else
void fr_vec_dot_bf16(int n, float *s, const void *w, const void *a) {
  const uint16_t *restrict x = w;
  const uint16_t *restrict y = a;
  const int np = n & ~31;
  float acc[4][8] = {{0}};
  for (int i = 0; i < np; i += 32)
    for (int j = 0; j < 4; j++)
      for (int l = 0; l < 8; l++)
        acc[j][l] = fmaf(frq_bf2f(x[i + 8 * j + l]), frq_bf2f(y[i + 8 * j + l]), acc[j][l]);
  float lane[8];
  for (int l = 0; l < 8; l++) lane[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  double sum = (double)frq_hsum8(lane);
  for (int i = np; i < n; i++) sum += (double)(frq_bf2f(x[i]) * frq_bf2f(y[i]));
  *s = (float)sum;
}
#endif /* FR_QUANTS_BF16 */
