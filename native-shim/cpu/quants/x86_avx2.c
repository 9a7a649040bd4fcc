/*
 * x86_avx2.c — AVX2 dot products for the weight formats whose portable
 * kernels GCC cannot vectorise well (bit fields, codebooks, per-16 scales).
 * Built only when FR_QUANTS_AVX2 (kernels.h); each function replaces the
 * portable one of the same name, which a baseline build still uses.
 *
 * The shape is the same everywhere: the weight quants are unpacked to
 * unsigned bytes in element order (signed codebooks go through abs/sign),
 * multiplied with the int8 activations by vpmaddubsw into int16 pairs,
 * widened by vpmaddwd against the sub-block scales into int32, and kept as
 * eight int32 lanes per super-block. Offsets (Q6_K's -32, Q3_K's -4) and
 * mins are folded in through Q8_K's per-16 sums (bsums) instead of being
 * subtracted per element. Each block's integer sum is scaled once in float
 * and accumulated in eight float lanes; one horizontal add at the end.
 *
 * Integer ranges: vpmaddubsw saturates at +-32767, so for every format the
 * unsigned weight times |a| <= 127 (Q8_K and Q8_0 quants lie in
 * [-127, 127]) summed in pairs must stay below that: 63*127*2 = 16002 for
 * Q6_K is the largest.
 *
 * The float summation order differs from ggml's, which the K-quants and
 * the other types here are not required to match bit for bit (they are
 * checked within 1e-5 of sum|w*a| by quants_check.c).
 */
#include "kernels.h"

#if FR_QUANTS_AVX2
#include "x86_simd.h"

static inline float hsum_ps(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

static inline int32_t hsum_epi32_128(__m128i x) {
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(x);
}

static inline __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline __m128i loadu128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }

/* the same from the scale bytes repeated in both 128-bit lanes, in one
 * in-lane shuffle: lane 0 picks byte 2g, lane 1 byte 2g+1, zero-extended */
static const uint8_t fr_pair_shuf256[8][32] = {
#define H(k) k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80
#define P(g) {H(2 * g), H(2 * g + 1)}
    P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7)
#undef P
#undef H
};
static inline __m256i scale_pair_u8x2(__m256i sc2, int g) {
  return _mm256_shuffle_epi8(sc2, loadu256(fr_pair_shuf256[g]));
}
/* signed: the byte lands in the high half of each int16, and an
 * arithmetic shift brings it down sign-extended */
static const uint8_t fr_pair_shuf256_hi[8][32] = {
#define H(k) 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k
#define P(g) {H(2 * g), H(2 * g + 1)}
    P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7)
#undef P
#undef H
};
static inline __m256i scale_pair_i8x2(__m256i sc2, int g) {
  return _mm256_srai_epi16(_mm256_shuffle_epi8(sc2, loadu256(fr_pair_shuf256_hi[g])), 8);
}

/* 12 packed bytes -> 8 scales (bytes 0-7 of the result) and 8 mins
 * (bytes 8-15); layout in q_k.c's fr_k4_scale_min */
static inline __m128i k4_scales_mins(const uint8_t *p) {
  uint32_t u[3];
  memcpy(u, p, 12);
  const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const uint32_t sc_lo = u[0] & m6, mn_lo = u[1] & m6;
  const uint32_t sc_hi = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
  const uint32_t mn_hi = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
  return _mm_set_epi32((int)mn_hi, (int)mn_lo, (int)sc_hi, (int)sc_lo);
}

/* int16 lanes all equal to byte k of v (zero-extended); v holds the same
 * 16 bytes in both 128-bit lanes */
static const uint8_t fr_bcast_u8[8][16] = {
#define B(k) {k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80, k, 0x80}
    B(0), B(1), B(2), B(3), B(4), B(5), B(6), B(7)
#undef B
};
static inline __m256i bcast_u8_epi16(__m256i v, int k) {
  return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(loadu128(fr_bcast_u8[k])));
}

/* min[j] * (bsums[2j] + bsums[2j+1]) over 8 sub-blocks of 32, in four
 * int32 lanes (summed across blocks in float, reduced at the end) */
static inline __m128 k4_mins_dot(__m128i scmn, const int16_t *bsums) {
  const __m128i pairs = _mm_hadd_epi16(loadu128(bsums), loadu128(bsums + 8));
  const __m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(scmn, scmn));
  return _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs));
}

static inline float hsum_ps128(__m128 x) {
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

/* ------------------------------------------------------------------ Q4_K */

void fr_vec_dot_q4_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q4_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  __m128 macc = _mm_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const __m128i scmn = k4_scales_mins(x[i].scales);
    const float dy = y[i].d;
    macc = _mm_fmadd_ps(_mm_set1_ps(frq_h2f_scale(x[i].dmin) * dy), k4_mins_dot(scmn, y[i].bsums), macc);
    const __m256i scv = _mm256_broadcastsi128_si256(scmn);
    __m256i isum = _mm256_setzero_si256();
    const uint8_t *restrict q = x[i].qs;
    const int8_t *restrict a = y[i].qs;
    for (int c = 0; c < 4; c++) {
      const __m256i qb = loadu256(q + 32 * c);
      const __m256i lo = _mm256_and_si256(qb, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
      const __m256i plo = _mm256_maddubs_epi16(lo, loadu256(a + 64 * c));
      const __m256i phi = _mm256_maddubs_epi16(hi, loadu256(a + 64 * c + 32));
      /* scale 2c for the low nibbles, 2c+1 for the high ones */
      const __m256i sl = bcast_u8_epi16(scv, 2 * c), sh = bcast_u8_epi16(scv, 2 * c + 1);
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_madd_epi16(plo, sl), _mm256_madd_epi16(phi, sh)));
    }
    const float d = frq_h2f_scale(x[i].d) * dy;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = hsum_ps(acc) - hsum_ps128(macc);
}

/* ------------------------------------------------------------------ Q6_K */

void fr_vec_dot_q6_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q6_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const __m128i sc = loadu128(x[i].scales);
    const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
    /* the -32 offset: 32 * sum_k scale[k] * bsums[k] */
    const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), loadu256(y[i].bsums));
    __m256i isum = _mm256_slli_epi32(off, 5);
    isum = _mm256_sub_epi32(_mm256_setzero_si256(), isum);
    const int8_t *restrict a = y[i].qs;
    for (int h = 0; h < 2; h++, a += 128) {
      const __m256i ql0 = loadu256(x[i].ql + 64 * h);
      const __m256i ql1 = loadu256(x[i].ql + 64 * h + 32);
      const __m256i qh = loadu256(x[i].qh + 32 * h);
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, loadu256(a)), scale_pair_i8x2(sc2, 4 * h + 0));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, loadu256(a + 32)), scale_pair_i8x2(sc2, 4 * h + 1));
      const __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q2, loadu256(a + 64)), scale_pair_i8x2(sc2, 4 * h + 2));
      const __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q3, loadu256(a + 96)), scale_pair_i8x2(sc2, 4 * h + 3));
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
    }
    const float d = frq_h2f_scale(x[i].d) * y[i].d;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = hsum_ps(acc);
}

/* ------------------------------------------------------------------ Q5_K */

void fr_vec_dot_q5_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q5_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  const __m256i m4 = _mm256_set1_epi8(0x0f), b5 = _mm256_set1_epi8(0x10);
  __m256 acc = _mm256_setzero_ps();
  __m128 macc = _mm_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const __m128i scmn = k4_scales_mins(x[i].scales);
    const float dy = y[i].d;
    macc = _mm_fmadd_ps(_mm_set1_ps(frq_h2f_scale(x[i].dmin) * dy), k4_mins_dot(scmn, y[i].bsums), macc);
    const __m256i scv = _mm256_broadcastsi128_si256(scmn);
    __m256i hb = loadu256(x[i].qh);
    __m256i isum = _mm256_setzero_si256();
    const uint8_t *restrict q = x[i].qs;
    const int8_t *restrict a = y[i].qs;
    for (int c = 0; c < 4; c++) {
      const __m256i qb = loadu256(q + 32 * c);
      /* 5th bits: bit 2c of qh[l] for the low nibbles, 2c+1 for the high;
       * hb holds qh >> 2c, so they are bits 0 and 1, moved to bit 4 */
      const __m256i hl = _mm256_and_si256(_mm256_slli_epi16(hb, 4), b5);
      const __m256i hh = _mm256_and_si256(_mm256_slli_epi16(hb, 3), b5);
      hb = _mm256_srli_epi16(hb, 2);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(qb, m4), hl);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), hh);
      const __m256i plo = _mm256_maddubs_epi16(lo, loadu256(a + 64 * c));
      const __m256i phi = _mm256_maddubs_epi16(hi, loadu256(a + 64 * c + 32));
      const __m256i sl = bcast_u8_epi16(scv, 2 * c), sh = bcast_u8_epi16(scv, 2 * c + 1);
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_madd_epi16(plo, sl), _mm256_madd_epi16(phi, sh)));
    }
    const float d = frq_h2f_scale(x[i].d) * dy;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = hsum_ps(acc) - hsum_ps128(macc);
}

/* ------------------------------------------------------------------ Q3_K */

/* 12 packed bytes -> 16 signed scales (layout in q_k.c's fr_q3_K_scales) */
static inline __m128i q3_scales(const uint8_t *p) {
  uint32_t u[3];
  memcpy(u, p, 12);
  const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const uint32_t s0 = (u[0] & m4) | ((u[2] & m2) << 4);
  const uint32_t s1 = (u[1] & m4) | (((u[2] >> 2) & m2) << 4);
  const uint32_t s2 = ((u[0] >> 4) & m4) | (((u[2] >> 4) & m2) << 4);
  const uint32_t s3 = ((u[1] >> 4) & m4) | (((u[2] >> 6) & m2) << 4);
  return _mm_sub_epi8(_mm_set_epi32((int)s3, (int)s2, (int)s1, (int)s0), _mm_set1_epi8(32));
}

void fr_vec_dot_q3_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q3_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  const __m256i m2 = _mm256_set1_epi8(0x03), b3 = _mm256_set1_epi8(0x04);
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const __m128i sc = q3_scales(x[i].scales);
    const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
    /* quants are stored as (low2 | high<<2) in 0..7 with an offset of 4 */
    const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), loadu256(y[i].bsums));
    __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 2));
    /* hm >> (4h+j): the high bit of the current 32 elements is bit 0 */
    __m256i hm = loadu256(x[i].hmask);
    const int8_t *restrict a = y[i].qs;
    for (int h = 0; h < 2; h++) {
      const __m256i qb = loadu256(x[i].qs + 32 * h);
      for (int j = 0; j < 4; j++, a += 32) {
        const __m256i hb = _mm256_and_si256(_mm256_slli_epi16(hm, 2), b3);
        hm = _mm256_srli_epi16(hm, 1);
        const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(qb, 2 * j), m2);
        const __m256i p = _mm256_maddubs_epi16(_mm256_or_si256(lo, hb), loadu256(a));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair_i8x2(sc2, 4 * h + j)));
      }
    }
    const float d = frq_h2f_scale(x[i].d) * y[i].d;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = hsum_ps(acc);
}

/* ------------------------------------------------------------------ Q2_K */

void fr_vec_dot_q2_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q2_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  const __m256i m2 = _mm256_set1_epi8(0x03), m4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    /* scale in the low nibble, min in the high one; both lanes alike */
    const __m256i packed = _mm256_broadcastsi128_si256(loadu128(x[i].scales));
    const __m256i sc = _mm256_and_si256(packed, m4);
    const __m256i mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(_mm256_castsi256_si128(packed), 4),
                                                          _mm256_castsi256_si128(m4)));
    const float dy = y[i].d;
    macc = _mm256_fmadd_ps(_mm256_set1_ps(frq_h2f_scale(x[i].dmin) * dy),
                           _mm256_cvtepi32_ps(_mm256_madd_epi16(mn, loadu256(y[i].bsums))), macc);
    __m256i isum = _mm256_setzero_si256();
    const int8_t *restrict a = y[i].qs;
    for (int h = 0; h < 2; h++) {
      __m256i qb = loadu256(x[i].qs + 32 * h);
      for (int j = 0; j < 4; j++, a += 32) {
        const __m256i p = _mm256_maddubs_epi16(_mm256_and_si256(qb, m2), loadu256(a));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair_u8x2(sc, 4 * h + j)));
        qb = _mm256_srli_epi16(qb, 2);
      }
    }
    const float d = frq_h2f_scale(x[i].d) * dy;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = hsum_ps(acc) - hsum_ps(macc);
}

/* ------------------------------------------------------------------ IQ4 */

/* the IQ4 codebook (iq4.c) in both 128-bit lanes, for vpshufb */
static inline __m256i iq4_table(void) {
  const __m128i t = _mm_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
  return _mm256_set_m128i(t, t);
}

/* 16 bytes of nibbles -> 32 int8 levels in element order (element j in the
 * low nibble of qs[j], j+16 in the high one), times 32 int8 activations,
 * as 16 int16 pair sums. Signed x signed through |w| and sign(a, w);
 * |w| <= 127 keeps the pairs below 2*127*127. */
static inline __m256i iq4_dot32(__m256i table, const uint8_t *qs, const int8_t *a) {
  const __m128i q = loadu128(qs);
  const __m128i m4 = _mm_set1_epi8(0x0f);
  const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
  const __m256i wv = _mm256_shuffle_epi8(table, idx);
  const __m256i av = loadu256(a);
  return _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(av, wv));
}

void fr_vec_dot_iq4_nl_q8_0(int n, float *s, const void *w, const void *act) {
  const fr_block_iq4_nl *restrict x = w;
  const fr_block_q8_0 *restrict y = act;
  const __m256i table = iq4_table(), ones = _mm256_set1_epi16(1);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int nb = n / FR_QK4_NL;
  int i = 0;
  for (; i + 1 < nb; i += 2) {
    const __m256i p0 = _mm256_madd_epi16(iq4_dot32(table, x[i].qs, y[i].qs), ones);
    const __m256i p1 = _mm256_madd_epi16(iq4_dot32(table, x[i + 1].qs, y[i + 1].qs), ones);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(frq_h2f_scale(x[i + 1].d) * frq_h2f_scale(y[i + 1].d)),
                           _mm256_cvtepi32_ps(p1), acc1);
  }
  for (; i < nb; i++) {
    const __m256i p0 = _mm256_madd_epi16(iq4_dot32(table, x[i].qs, y[i].qs), ones);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(frq_h2f_scale(x[i].d) * frq_h2f_scale(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
  }
  *s = hsum_ps(_mm256_add_ps(acc0, acc1));
}

void fr_vec_dot_iq4_xs_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_iq4_xs *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  const __m256i table = iq4_table();
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const uint32_t sh = x[i].scales_h;
    uint32_t sl;
    memcpy(&sl, x[i].scales_l, 4);
    __m256i isum = _mm256_setzero_si256();
    for (int ib = 0; ib < FR_QK_K / 32; ib++) {
      const int sc = (int)(((sl >> (4 * ib)) & 0x0f) | (((sh >> (2 * ib)) & 3) << 4)) - 32;
      const __m256i p = iq4_dot32(table, x[i].qs + 16 * ib, y[i].qs + 32 * ib);
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16((short)sc)));
    }
    const float d = frq_h2f_scale(x[i].d) * y[i].d;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = hsum_ps(acc);
}

/* ---------------------------------------------------- four tokens at once
 * One weight row against four activation rows (a_stride bytes apart),
 * results to s[0], s[s_stride], ...: the weight unpacking and scale
 * decoding, which is most of the work per block, is shared by the four.
 * Each token's arithmetic is the single-token kernel's, operation for
 * operation, so the results are bit-identical to four vec_dot calls. */

void fr_vec_dot4_q4_K_q8_K(int n, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  const fr_block_q4_K *restrict x = w;
  const fr_block_q8_K *y[4];
  for (int k = 0; k < 4; k++) y[k] = (const fr_block_q8_K *)((const uint8_t *)act + k * a_stride);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[4];
  __m128 macc[4];
  for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps(), macc[k] = _mm_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const __m128i scmn = k4_scales_mins(x[i].scales);
    const float dmin = frq_h2f_scale(x[i].dmin), dw = frq_h2f_scale(x[i].d);
    for (int k = 0; k < 4; k++)
      macc[k] = _mm_fmadd_ps(_mm_set1_ps(dmin * y[k][i].d), k4_mins_dot(scmn, y[k][i].bsums), macc[k]);
    const __m256i scv = _mm256_broadcastsi128_si256(scmn);
    __m256i isum[4];
    for (int k = 0; k < 4; k++) isum[k] = _mm256_setzero_si256();
    const uint8_t *restrict q = x[i].qs;
    for (int c = 0; c < 4; c++) {
      const __m256i qb = loadu256(q + 32 * c);
      const __m256i lo = _mm256_and_si256(qb, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
      const __m256i sl = bcast_u8_epi16(scv, 2 * c), sh = bcast_u8_epi16(scv, 2 * c + 1);
      for (int k = 0; k < 4; k++) {
        const int8_t *restrict a = y[k][i].qs + 64 * c;
        const __m256i plo = _mm256_maddubs_epi16(lo, loadu256(a));
        const __m256i phi = _mm256_maddubs_epi16(hi, loadu256(a + 32));
        isum[k] = _mm256_add_epi32(isum[k], _mm256_add_epi32(_mm256_madd_epi16(plo, sl), _mm256_madd_epi16(phi, sh)));
      }
    }
    for (int k = 0; k < 4; k++)
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y[k][i].d), _mm256_cvtepi32_ps(isum[k]), acc[k]);
  }
  for (int k = 0; k < 4; k++) s[k * s_stride] = hsum_ps(acc[k]) - hsum_ps128(macc[k]);
}

void fr_vec_dot4_q6_K_q8_K(int n, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  const fr_block_q6_K *restrict x = w;
  const fr_block_q8_K *y[4];
  for (int k = 0; k < 4; k++) y[k] = (const fr_block_q8_K *)((const uint8_t *)act + k * a_stride);
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  __m256 acc[4];
  for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
  for (int i = 0; i < n / FR_QK_K; i++) {
    const __m128i sc = loadu128(x[i].scales);
    const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
    __m256i isum[4];
    for (int k = 0; k < 4; k++) {
      const __m256i off = _mm256_madd_epi16(sc16, loadu256(y[k][i].bsums));
      isum[k] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
    }
    for (int h = 0; h < 2; h++) {
      const __m256i ql0 = loadu256(x[i].ql + 64 * h);
      const __m256i ql1 = loadu256(x[i].ql + 64 * h + 32);
      const __m256i qh = loadu256(x[i].qh + 32 * h);
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
      const __m256i s0 = scale_pair_i8x2(sc2, 4 * h + 0), s1 = scale_pair_i8x2(sc2, 4 * h + 1);
      const __m256i s2 = scale_pair_i8x2(sc2, 4 * h + 2), s3 = scale_pair_i8x2(sc2, 4 * h + 3);
      for (int k = 0; k < 4; k++) {
        const int8_t *restrict a = y[k][i].qs + 128 * h;
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, loadu256(a)), s0);
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, loadu256(a + 32)), s1);
        const __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q2, loadu256(a + 64)), s2);
        const __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q3, loadu256(a + 96)), s3);
        isum[k] = _mm256_add_epi32(isum[k], _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
      }
    }
    const float dw = frq_h2f_scale(x[i].d);
    for (int k = 0; k < 4; k++)
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y[k][i].d), _mm256_cvtepi32_ps(isum[k]), acc[k]);
  }
  for (int k = 0; k < 4; k++) s[k * s_stride] = hsum_ps(acc[k]);
}

#endif /* FR_QUANTS_AVX2 */
