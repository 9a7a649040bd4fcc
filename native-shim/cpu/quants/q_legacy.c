/*
 * q_legacy.c — the 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
 * and the activation formats Q8_0 / Q8_1 they are multiplied with.
 *
 * Dot products follow ggml: the integer products of one block are summed
 * exactly, then scaled once by d_w*d_a; the weight offset m of Q4_1/Q5_1 is
 * applied through the activation block's precomputed s = d_a*sum(q_a).
 */
#include "kernels.h"

#include <math.h>

/* ---- dequantization (bit-exact with ggml's dequantize_row_*) ---- */

void fr_q4_0_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q4_0 *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK4_0; i++, y += FR_QK4_0) {
    const float d = frq_h2f_scale(x[i].d);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK4_0 / 2; j++) {
      y[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
      y[j + FR_QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void fr_q4_1_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q4_1 *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK4_1; i++, y += FR_QK4_1) {
    const float d = frq_h2f_scale(x[i].d);
    const float m = frq_h2f_scale(x[i].m);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK4_1 / 2; j++) {
      y[j] = (float)(x[i].qs[j] & 0x0f) * d + m;
      y[j + FR_QK4_1 / 2] = (float)(x[i].qs[j] >> 4) * d + m;
    }
  }
}

/* the 5th bit of element j is bit j of qh; returned as 0 or 16 */
static inline int fr_q5_high(uint32_t qh, int j) { return (int)((qh >> j) & 1u) << 4; }

void fr_q5_0_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q5_0 *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK5_0; i++, y += FR_QK5_0) {
    const float d = frq_h2f_scale(x[i].d);
    uint32_t qh;
    memcpy(&qh, x[i].qh, sizeof qh);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK5_0 / 2; j++) {
      y[j] = (float)(((x[i].qs[j] & 0x0f) | fr_q5_high(qh, j)) - 16) * d;
      y[j + FR_QK5_0 / 2] = (float)(((x[i].qs[j] >> 4) | fr_q5_high(qh, j + 16)) - 16) * d;
    }
  }
}

void fr_q5_1_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q5_1 *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK5_1; i++, y += FR_QK5_1) {
    const float d = frq_h2f_scale(x[i].d);
    const float m = frq_h2f_scale(x[i].m);
    uint32_t qh;
    memcpy(&qh, x[i].qh, sizeof qh);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK5_1 / 2; j++) {
      y[j] = (float)((x[i].qs[j] & 0x0f) | fr_q5_high(qh, j)) * d + m;
      y[j + FR_QK5_1 / 2] = (float)((x[i].qs[j] >> 4) | fr_q5_high(qh, j + 16)) * d + m;
    }
  }
}

void fr_q8_0_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q8_0 *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK8_0; i++, y += FR_QK8_0) {
    const float d = frq_h2f_scale(x[i].d);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK8_0; j++) y[j] = (float)x[i].qs[j] * d;
  }
}

/* ggml has no dequantizer for q8_1 (it is never stored); same math as q8_0 */
void fr_q8_1_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q8_1 *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK8_1; i++, y += FR_QK8_1) {
    const float d = frq_h2f_scale(x[i].d);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK8_1; j++) y[j] = (float)x[i].qs[j] * d;
  }
}

/* ---- activation quantization ----
 *
 * This matches the x86 SIMD quantize_row_q8_0/q8_1 that llama.cpp's CPU
 * backend runs, not quantize_row_q8_0_ref, and the two differ:
 *   - the multiplier is 127/amax (ref: 1/(amax/127), which can be an ulp off)
 *   - x*id is rounded half to even (ref: roundf, half away from zero)
 *   - the float -> int conversion is cvtps2dq followed by saturating packs:
 *     values past int32 range (and NaN) become INT32_MIN and then -128,
 *     anything else saturates to [-128, 127]; q8_1's sum is taken over the
 *     int32 values. This only shows when amax is so small that 127/amax
 *     overflows to inf, or with infinite inputs.
 */

/* max |x| over 32 floats. For non-NaN floats the order of |x| is the order
 * of the sign-cleared bit patterns, and an integer max reduction vectorises
 * where a float one (NaN semantics) would not. */
static inline float fr_absmax32(const float *restrict x) {
  uint32_t m = 0;
  for (int j = 0; j < 32; j++) {
    const uint32_t a = frq_f32_bits(x[j]) & 0x7fffffffu;
    m = a > m ? a : m;
  }
  return frq_f32_from_bits(m);
}

/* x*id rounded to nearest even and converted like cvtps2dq: NaN and
 * anything outside int32 give INT32_MIN. The conversion itself only ever
 * sees in-range values (an out-of-range float -> int conversion is undefined
 * in C, and a possibly-trapping one would stop vectorisation). */
static inline int32_t fr_cvt_round(float v) {
  const float r = rintf(v);
  const int in_range = (r >= -2147483648.0f) & (r < 2147483648.0f);
  const int32_t i = (int32_t)(in_range ? r : 0.0f);
  return in_range ? i : INT32_MIN;
}

/* quantizes one block of 32; returns the unrounded scale. *sum gets the
 * sum of the int32 values before they are saturated to int8, wrapping like
 * the SIMD code's 32-bit lanes (it only differs from sum(q) for blocks
 * whose multiplier overflowed to inf). */
static inline float fr_q8_block(const float *restrict x, int8_t *restrict q, int32_t *restrict sum) {
  const float amax = fr_absmax32(x);
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int32_t v[32];
  FR_BLOCK_LOOP
  for (int j = 0; j < 32; j++) v[j] = fr_cvt_round(x[j] * id);
  FR_BLOCK_LOOP
  for (int j = 0; j < 32; j++) q[j] = (int8_t)(v[j] > 127 ? 127 : v[j] < -128 ? -128 : v[j]); /* packssdw + packsswb */
  uint32_t s = 0;
  FR_BLOCK_LOOP
  for (int j = 0; j < 32; j++) s += (uint32_t)v[j];
  *sum = (int32_t)s;
  return amax / 127.0f;
}

void fr_q8_0_from_float(const float *restrict x, void *vy, int64_t n) {
  fr_block_q8_0 *restrict y = vy;
  for (int64_t i = 0; i < n / FR_QK8_0; i++, x += FR_QK8_0) {
    int32_t sum;
    y[i].d = frq_f2h_scale(fr_q8_block(x, y[i].qs, &sum));
  }
}

void fr_q8_1_from_float(const float *restrict x, void *vy, int64_t n) {
  fr_block_q8_1 *restrict y = vy;
  for (int64_t i = 0; i < n / FR_QK8_1; i++, x += FR_QK8_1) {
    int32_t sum;
    const float d = fr_q8_block(x, y[i].qs, &sum);
    y[i].d = frq_f2h_scale(d);
    /* from the float d, not its fp16 rounding, as ggml does */
    y[i].s = frq_f2h_scale(d * (float)sum);
  }
}

/* ---- dot products ---- */

/*
 * Q4_0, Q5_0 and Q8_0 times Q8_0 in the arithmetic of ggml's AVX2
 * vec_dot, which llamafile's tinyBLAS_Q0_AVX (ggml's mul_mat for 2+
 * tokens) shares: per block, 8 exact int32 lanes, lane l the sum of
 * w[j]*a[j] over j = 4l..4l+3 (maddubs + madd); the lanes, as floats,
 * accumulate as fma(d_w*d_a, lane, acc) across blocks; frq_hsum8 at the
 * end. Other groupings of the same products round differently.
 */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FR_Q0_AVX2 1
/* 8 lanes of 4-product sums of signed bytes, as float (ggml's
 * mul_sum_i8_pairs_float without VNNI) */
static inline __m256 fr_q0_lanes(__m256i w, __m256i a) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}
static inline float fr_q0_hsum(__m256 acc) {
  float l[8];
  _mm256_storeu_ps(l, acc);
  return frq_hsum8(l);
}
/* the 32 nibbles of a block as bytes: low nibbles first, then high */
static inline __m256i fr_q0_nibbles(const uint8_t *qs) {
  const __m128i t = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set1_epi8(0x0f), _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1));
}
/* byte j = 0xF0 where bit j of qh is clear, 0 where set */
static inline __m256i fr_q5_high_bytes(const uint8_t *qh) {
  uint32_t h;
  memcpy(&h, qh, sizeof h);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h),
                                             _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                               0x0101010101010101, 0x0000000000000000));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)),
                                        _mm256_set1_epi64x(-1));
  return _mm256_andnot_si256(set, _mm256_set1_epi8((char)0xf0));
}
#else
/* lane[l] += d * sum of w[j]*a[j], j = 4l..4l+3 */
static inline void fr_q0_block(float *acc, float d, const int8_t *w, const int8_t *a) {
  for (int l = 0; l < 8; l++) {
    int32_t p = 0;
    for (int k = 0; k < 4; k++) p += w[4 * l + k] * a[4 * l + k];
    acc[l] = fmaf(d, (float)p, acc[l]);
  }
}
#endif

/* sum over one 32-block of w[j]*a[j], w given as low/high nibble halves */
static inline int32_t fr_dot_nibbles(const uint8_t *restrict qs, int lo_off, const int8_t *restrict a) {
  int32_t s = 0;
  FR_BLOCK_LOOP
  for (int j = 0; j < 16; j++) s += ((qs[j] & 0x0f) + lo_off) * a[j] + ((qs[j] >> 4) + lo_off) * a[j + 16];
  return s;
}

void fr_vec_dot_q4_0_q8_0(int n, float *s, const void *w, const void *act) {
  const fr_block_q4_0 *restrict x = w;
  const fr_block_q8_0 *restrict y = act;
#if FR_Q0_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK8_0; i++) {
    const __m256 d = _mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d));
    const __m256i q = _mm256_sub_epi8(fr_q0_nibbles(x[i].qs), _mm256_set1_epi8(8));
    acc = _mm256_fmadd_ps(d, fr_q0_lanes(q, _mm256_loadu_si256((const __m256i *)y[i].qs)), acc);
  }
  *s = fr_q0_hsum(acc);
#else
  float acc[8] = {0};
  for (int i = 0; i < n / FR_QK8_0; i++) {
    int8_t q[32];
    for (int j = 0; j < 16; j++) q[j] = (int8_t)((x[i].qs[j] & 0x0f) - 8), q[j + 16] = (int8_t)((x[i].qs[j] >> 4) - 8);
    fr_q0_block(acc, frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d), q, y[i].qs);
  }
  *s = frq_hsum8(acc);
#endif
}

void fr_vec_dot_q4_1_q8_1(int n, float *s, const void *w, const void *act) {
  const fr_block_q4_1 *restrict x = w;
  const fr_block_q8_1 *restrict y = act;
#if FR_Q0_AVX2
  /* unsigned nibbles times int8: no sign trick needed; the offsets m
   * enter through Q8_1's s = d*sum(a) */
  __m256 acc = _mm256_setzero_ps();
  float msum = 0.0f;
  for (int i = 0; i < n / FR_QK8_1; i++) {
    const __m256i p = _mm256_maddubs_epi16(fr_q0_nibbles(x[i].qs), _mm256_loadu_si256((const __m256i *)y[i].qs));
    const __m256 lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d)), lanes, acc);
    msum += frq_h2f_scale(x[i].m) * frq_h2f_scale(y[i].s);
  }
  *s = fr_q0_hsum(acc) + msum;
#else
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK8_1; i++) {
    const int32_t isum = fr_dot_nibbles(x[i].qs, 0, y[i].qs);
    sum += frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d) * (float)isum + frq_h2f_scale(x[i].m) * frq_h2f_scale(y[i].s);
  }
  *s = sum;
#endif
}

/* one 32-block of 5-bit weights (offset already applied) times int8 */
static inline int32_t fr_dot_q5(const uint8_t *restrict qs, uint32_t qh, int off, const int8_t *restrict a) {
  int32_t s = 0;
  FR_BLOCK_LOOP
  for (int j = 0; j < 16; j++) {
    const int w0 = ((qs[j] & 0x0f) | fr_q5_high(qh, j)) + off;
    const int w1 = ((qs[j] >> 4) | fr_q5_high(qh, j + 16)) + off;
    s += w0 * a[j] + w1 * a[j + 16];
  }
  return s;
}

void fr_vec_dot_q5_0_q8_0(int n, float *s, const void *w, const void *act) {
  const fr_block_q5_0 *restrict x = w;
  const fr_block_q8_0 *restrict y = act;
#if FR_Q0_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK8_0; i++) {
    const __m256 d = _mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d));
    /* nibble | 0xF0 where the 5th bit is clear: the value minus 16, as int8 */
    const __m256i q = _mm256_or_si256(fr_q0_nibbles(x[i].qs), fr_q5_high_bytes(x[i].qh));
    acc = _mm256_fmadd_ps(d, fr_q0_lanes(q, _mm256_loadu_si256((const __m256i *)y[i].qs)), acc);
  }
  *s = fr_q0_hsum(acc);
#else
  float acc[8] = {0};
  for (int i = 0; i < n / FR_QK8_0; i++) {
    uint32_t qh;
    memcpy(&qh, x[i].qh, sizeof qh);
    int8_t q[32];
    for (int j = 0; j < 16; j++) {
      q[j] = (int8_t)(((x[i].qs[j] & 0x0f) | fr_q5_high(qh, j)) - 16);
      q[j + 16] = (int8_t)(((x[i].qs[j] >> 4) | fr_q5_high(qh, j + 16)) - 16);
    }
    fr_q0_block(acc, frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d), q, y[i].qs);
  }
  *s = frq_hsum8(acc);
#endif
}

void fr_vec_dot_q5_1_q8_1(int n, float *s, const void *w, const void *act) {
  const fr_block_q5_1 *restrict x = w;
  const fr_block_q8_1 *restrict y = act;
#if FR_Q0_AVX2
  __m256 acc = _mm256_setzero_ps();
  float msum = 0.0f;
  const __m256i b5 = _mm256_set1_epi8(0x10);
  for (int i = 0; i < n / FR_QK8_1; i++) {
    /* fr_q5_high_bytes is 0xF0 where the bit is clear: flip to 0x10 where set */
    const __m256i hi = _mm256_andnot_si256(fr_q5_high_bytes(x[i].qh), b5);
    const __m256i q = _mm256_or_si256(fr_q0_nibbles(x[i].qs), hi);
    const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y[i].qs));
    const __m256 lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d)), lanes, acc);
    msum += frq_h2f_scale(x[i].m) * frq_h2f_scale(y[i].s);
  }
  *s = fr_q0_hsum(acc) + msum;
#else
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK8_1; i++) {
    uint32_t qh;
    memcpy(&qh, x[i].qh, sizeof qh);
    const int32_t isum = fr_dot_q5(x[i].qs, qh, 0, y[i].qs);
    sum += frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d) * (float)isum + frq_h2f_scale(x[i].m) * frq_h2f_scale(y[i].s);
  }
  *s = sum;
#endif
}

void fr_vec_dot_q8_0_q8_0(int n, float *s, const void *w, const void *act) {
  const fr_block_q8_0 *restrict x = w;
  const fr_block_q8_0 *restrict y = act;
#if FR_Q0_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK8_0; i++) {
    const __m256 d = _mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d));
    acc = _mm256_fmadd_ps(d, fr_q0_lanes(_mm256_loadu_si256((const __m256i *)x[i].qs),
                                         _mm256_loadu_si256((const __m256i *)y[i].qs)), acc);
  }
  *s = fr_q0_hsum(acc);
#else
  float acc[8] = {0};
  for (int i = 0; i < n / FR_QK8_0; i++) fr_q0_block(acc, frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d), x[i].qs, y[i].qs);
  *s = frq_hsum8(acc);
#endif
}
