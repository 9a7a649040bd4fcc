/*
 * x86_r8_q0.c — x86 kernels for q4_0_r8 and q8_0_r8 (blocks.h), AVX2 and
 * AVX-512 VNNI: eight weight rows times up to four tokens, the eight rows
 * in the eight lanes. Per 32 bytes of qs, four activation bytes are
 * broadcast to all rows and multiplied with four bytes of every row: by
 * vpmaddubsw on AVX2, by vpdpbusd (which also sums into int32) where the
 * build targets VNNI (FR_QUANTS_AVX512). Only the dot steps below differ.
 *
 * Q4_0: the eight products of a block (4 groups x low/high nibble) are at
 * most 2*15*127 = 3810 each, so AVX2 sums them in int16 and widens once;
 * the -8 offset is taken off as 8*sum(a), summed once per block and token.
 * Q8_0: signed times signed goes through the sign trick (|w| unsigned, a
 * with w's sign); a product can reach 2*128*127 = 32512 (-128 is a valid
 * weight byte), so on AVX2 each is widened on its own.
 *
 * Same integers, same fused float step (d_w*d_a, exact) as the portable
 * kernels in q0_r8.c, so all three agree bit for bit.
 */
#include "kernels.h"

#if FR_QUANTS_AVX2
#include "x86_simd.h"

/* weight bytes ahead of the block being read: decode streams weights from
 * memory. 2 KiB was best of 0.5-8 KiB on Zen 3 (AVX2; without, a third
 * slower). On Zen 5 (the AVX-512 build), decode steps alternating between
 * two settings in one process: 6 KiB took 7-8% less time a step than 2 KiB
 * on Q4_0 and 5% less on Q8_0; 4 KiB and 8 KiB in between, 1 KiB slower. */
#if FR_QUANTS_AVX512
#define Q0_PREFETCH 6144
#else
#define Q0_PREFETCH 2048
#endif

#if FR_QUANTS_AVX512
/* u8 x s8 products, four per int32 lane, added to acc */
static inline __m256i dot_i32(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
/* Q4_0's per-block sums: int32 all along */
static inline __m256i dot_q4(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
static inline __m256i widen_q4(__m256i acc) { return acc; }
/* per 32-bit lane, 8 * the sum of its four activation bytes */
static inline __m256i sum8_lanes(__m256i q) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), q); }
#else
static inline __m256i dot_i32(__m256i acc, __m256i u, __m256i s) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
/* Q4_0's per-block sums in int16 pairs, widened once per block */
static inline __m256i dot_q4(__m256i acc, __m256i u, __m256i s) { return _mm256_add_epi16(acc, _mm256_maddubs_epi16(u, s)); }
static inline __m256i widen_q4(__m256i acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
static inline __m256i sum8_lanes(__m256i q) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(8));
}
#endif

/* the activation scale d_a in every lane */
static inline __m256 bcast_half(const fr_half *p) { return _mm256_cvtph_ps(_mm_set1_epi16((short)*p)); }

/* the sum of v's eight int32 lanes, in every lane */
static inline __m256i sum_lanes_bcast(__m256i v) {
  v = _mm256_add_epi32(v, _mm256_permute2x128_si256(v, v, 0x01));
  v = _mm256_add_epi32(v, _mm256_shuffle_epi32(v, 0x4e));
  return _mm256_add_epi32(v, _mm256_shuffle_epi32(v, 0xb1));
}

/* 8*sum(qs) of one Q8_0 block in every lane */
static inline __m256i sum8_q8_0(const fr_block_q8_0 *y) {
  return sum_lanes_bcast(sum8_lanes(_mm256_loadu_si256((const __m256i *)y->qs)));
}

/* the same for four tokens' blocks: a 4x8 transpose-add shares the
 * cross-lane steps (a tenth faster at four tokens) */
static inline void sum8x4_q8_0(__m256i out[4], const fr_block_q8_0 *y[4]) {
  __m256i v[4];
  for (int t = 0; t < 4; t++) v[t] = sum8_lanes(_mm256_loadu_si256((const __m256i *)y[t]->qs));
  const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
  const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
  __m256i s = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
  s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 0x01));
  out[0] = _mm256_shuffle_epi32(s, 0x00);
  out[1] = _mm256_shuffle_epi32(s, 0x55);
  out[2] = _mm256_shuffle_epi32(s, 0xaa);
  out[3] = _mm256_shuffle_epi32(s, 0xff);
}

static inline __attribute__((always_inline)) void q4_0_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q4_0_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride) {
  const int nb = n / FR_QK4_0;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const char *pf = (const char *)(x + i) + Q0_PREFETCH;
    frq_prefetch_lines(pf, 3);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m256i bsum[4];
    for (int t = 0; t < nt; t++) bsum[t] = _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[g]);
      const __m256i lo = _mm256_and_si256(q, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      for (int t = 0; t < nt; t++) {
        bsum[t] = dot_q4(bsum[t], lo, frq_bcast4(y[t]->qs + 4 * g));
        bsum[t] = dot_q4(bsum[t], hi, frq_bcast4(y[t]->qs + 16 + 4 * g));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    __m256i a8[4];
    if (nt == 4) {
      sum8x4_q8_0(a8, y);
    } else {
      for (int t = 0; t < nt; t++) a8[t] = sum8_q8_0(y[t]);
    }
    for (int t = 0; t < nt; t++) {
      const __m256i isum = _mm256_sub_epi32(widen_q4(bsum[t]), a8[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, bcast_half(&y[t]->d)), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

static inline __attribute__((always_inline)) void q8_0_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q8_0_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride) {
  const int nb = n / FR_QK8_0;
  __m256 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const char *pf = (const char *)(x + i) + Q0_PREFETCH;
    frq_prefetch_lines(pf, 5);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int g = 0; g < 8; g++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[g]);
      const __m256i aq = _mm256_abs_epi8(q);
      for (int t = 0; t < nt; t++) isum[t] = dot_i32(isum[t], aq, _mm256_sign_epi8(frq_bcast4(y[t]->qs + 4 * g), q));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    for (int t = 0; t < nt; t++)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, bcast_half(&y[t]->d)), acc[t]);
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

#if FR_QUANTS_AVX512
/* Q4_0, one token (decode): the integers of q4_0_nt with a third fewer
 * vector instructions. A zmm holds two consecutive 32-byte runs of the same
 * eight rows (runs 2p and 2p+1 in its halves), each half against its own
 * activation bytes; the halves are folded once a block. One stream. */
/* Rows of 4096 columns or more (ffn_down) prefetch half as far ahead:
 * their 6 KB of activations are re-read for every eight rows and fall out
 * of L1 the sooner, the more weight lines are in flight. TinyLlama Q4_0
 * decode steps alternating between 3 and 6 KB, ten runs both ways round
 * (Zen 5): ffn_down 0.5-8.7% less time in nine, 1.8% more in one. Q8_0's
 * kernel measured worse with 3 KB, so it keeps 6. */
#define Q4_0_PREFETCH_LONG 3072
static void q4_0_wide1(int n, float *s, const fr_block_q4_0_r8 *restrict x, const fr_block_q8_0 *restrict y) {
  const int nb = n / FR_QK4_0;
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const int ahead = n >= 4096 ? Q4_0_PREFETCH_LONG : Q0_PREFETCH;
  __m256 acc = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++, y++) {
    frq_prefetch_lines((const char *)(x + i) + ahead, 3);
    __m512i bsum = _mm512_setzero_si512();
    for (int g = 0; g < 4; g += 2) {
      const __m512i q = _mm512_loadu_si512(x[i].qs[g]);
      bsum = _mm512_dpbusd_epi32(bsum, _mm512_and_si512(q, m4), frq_bcast4_halves(y->qs + 4 * g));
      bsum = _mm512_dpbusd_epi32(bsum, _mm512_and_si512(_mm512_srli_epi16(q, 4), m4), frq_bcast4_halves(y->qs + 16 + 4 * g));
    }
    const __m256i isum = _mm256_sub_epi32(frq_fold_halves(bsum), sum8_q8_0(y));
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, bcast_half(&y->d)), acc);
  }
  _mm256_storeu_ps(s, acc);
}

/* one token (decode) on q4_0_wide1: against q4_0_nt,
 * decode steps 0.972 and 0.978 of the time (TinyLlama Q4_0, Zen 5, steps
 * alternating between the two in one process) */
FR_R8_GEMM_ENTRY_ONE(fr_gemm_q4_0_r8_q8_0, q4_0_nt, q4_0_wide1, fr_block_q4_0_r8, fr_block_q8_0)
#else
FR_R8_GEMM_ENTRY(fr_gemm_q4_0_r8_q8_0, q4_0_nt)
#endif

#if FR_QUANTS_AVX512
/* a block's float step for sixteen rows, as the eight-row kernels take it
 * per lane: acc += (float)(isum - off) * (d_w * d_a); off is the block's
 * activation correction (in lane 0 of off8) */
static inline __m512 fold16(__m512 acc, __m512i isum, __m256i off8, __m512 dw, const fr_block_q8_0 *y) {
  const __m512i v = _mm512_sub_epi32(isum, _mm512_broadcastd_epi32(_mm256_castsi256_si128(off8)));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(dw, _mm512_cvtph_ps(_mm256_set1_epi16((short)y->d))), acc);
}

/* Q4_0, two consecutive r8 groups (sixteen rows) per pass in prefill:
 * group A's eight rows in the low 256 bits of a zmm, group B's in the high,
 * so one broadcast and one vpdpbusd serve both groups (half the
 * instructions per product of q4_0_nt) and 8*sum(a) is found once for
 * sixteen rows. Each lane computes exactly what q4_0_nt does for its row. */
static inline __attribute__((always_inline)) void q4_0_pair_nt(int n, const int nt, float *s, size_t s_stride,
                                                               const fr_block_q4_0_r8 *restrict xa,
                                                               const fr_block_q4_0_r8 *restrict xb, const uint8_t *act,
                                                               size_t a_stride) {
  const int nb = n / FR_QK4_0;
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  __m512 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int i = 0; i < nb; i++) {
    frq_prefetch_lines((const char *)(xa + i) + Q0_PREFETCH, 3);
    frq_prefetch_lines((const char *)(xb + i) + Q0_PREFETCH, 3);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m512i bsum[4];
    for (int t = 0; t < nt; t++) bsum[t] = _mm512_setzero_si512();
    for (int g = 0; g < 4; g++) {
      const __m512i q = frq_pair256(xa[i].qs[g], xb[i].qs[g]);
      const __m512i lo = _mm512_and_si512(q, m4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
      for (int t = 0; t < nt; t++) {
        bsum[t] = _mm512_dpbusd_epi32(bsum[t], lo, frq_bcast4x16(y[t]->qs + 4 * g));
        bsum[t] = _mm512_dpbusd_epi32(bsum[t], hi, frq_bcast4x16(y[t]->qs + 16 + 4 * g));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(frq_pair128(xa[i].d, xb[i].d));
    __m256i a8[4];
    if (nt == 4) {
      sum8x4_q8_0(a8, y);
    } else {
      for (int t = 0; t < nt; t++) a8[t] = sum8_q8_0(y[t]);
    }
    for (int t = 0; t < nt; t++) acc[t] = fold16(acc[t], bsum[t], a8[t], dw, y[t]);
  }
  for (int t = 0; t < nt; t++) _mm512_storeu_ps(s + t * s_stride, acc[t]);
}

FR_R8_GEMM2_ENTRY(fr_gemm2_q4_0_r8_q8_0, fr_block_q4_0_r8, q4_0_pair_nt)
#endif

FR_R8_GEMM_ENTRY(fr_gemm_q8_0_r8_q8_0, q8_0_nt)

#if FR_QUANTS_AVX512
/* 128*sum(qs) of one Q8_0 block in every lane */
static inline __m256i sum128_q8_0(const fr_block_q8_0 *y) {
  return sum_lanes_bcast(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80),
                                             _mm256_loadu_si256((const __m256i *)y->qs)));
}

/* Q8_0, sixteen rows per pass as q4_0_pair_nt. Instead of the sign trick,
 * the weights are made unsigned (w + 128, a flip of the top bit) and
 * 128*sum(a) comes off per block and token, once for sixteen rows: one
 * vpdpbusd per product. The integers are the same: sum (w+128)*a - 128*sum a. */
static inline __attribute__((always_inline)) void q8_0_pair_nt(int n, const int nt, float *s, size_t s_stride,
                                                               const fr_block_q8_0_r8 *restrict xa,
                                                               const fr_block_q8_0_r8 *restrict xb, const uint8_t *act,
                                                               size_t a_stride) {
  const int nb = n / FR_QK8_0;
  const __m512i top = _mm512_set1_epi8((char)0x80);
  __m512 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int i = 0; i < nb; i++) {
    frq_prefetch_lines((const char *)(xa + i) + Q0_PREFETCH, 5);
    frq_prefetch_lines((const char *)(xb + i) + Q0_PREFETCH, 5);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m512i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
    for (int g = 0; g < 8; g++) {
      const __m512i q = frq_pair256(xa[i].qs[g], xb[i].qs[g]);
      const __m512i u = _mm512_xor_si512(q, top);
      for (int t = 0; t < nt; t++) isum[t] = _mm512_dpbusd_epi32(isum[t], u, frq_bcast4x16(y[t]->qs + 4 * g));
    }
    const __m512 dw = _mm512_cvtph_ps(frq_pair128(xa[i].d, xb[i].d));
    for (int t = 0; t < nt; t++) acc[t] = fold16(acc[t], isum[t], sum128_q8_0(y[t]), dw, y[t]);
  }
  for (int t = 0; t < nt; t++) _mm512_storeu_ps(s + t * s_stride, acc[t]);
}

FR_R8_GEMM2_ENTRY(fr_gemm2_q8_0_r8_q8_0, fr_block_q8_0_r8, q8_0_pair_nt)
#endif

#endif /* FR_QUANTS_AVX2 */
