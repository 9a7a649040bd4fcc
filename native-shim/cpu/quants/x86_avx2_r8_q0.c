/*
 * x86_avx2_r8_q0.c — AVX2 kernels for q4_0_r8 and q8_0_r8 (blocks.h):
 * eight weight rows times up to four tokens, the eight rows in the eight
 * lanes. Per 32 bytes of qs, four activation bytes are broadcast to all
 * rows and one vpmaddubsw multiplies them with four bytes of every row.
 *
 * Q4_0: the eight products of a block (4 groups x low/high nibble) are at
 * most 2*15*127 = 3810 each, so they are summed in int16 and widened by
 * one vpmaddwd; the -8 offset is taken off as 8*sum(a), summed once per
 * block and token. Q8_0: signed times signed goes through the sign trick
 * (|w| unsigned, a with w's sign); a product can reach 2*128*127 = 32512
 * (-128 is a valid weight byte), so each is widened on its own.
 *
 * Same integers, same fused float step (d_w*d_a, exact) as the portable
 * kernels in q0_r8.c, so the two agree bit for bit.
 */
#include "kernels.h"

#if FR_QUANTS_AVX2 && !FR_QUANTS_AVX512 /* else x86_avx512_r8*.c */
#include "x86_r8_q0_sums.h"

static inline __attribute__((always_inline)) void q4_0_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q4_0_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride) {
  const int nb = n / FR_QK4_0;
  const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  __m256 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const char *pf = (const char *)(x + i) + FRQ_Q0_R8_PREFETCH;
    frq_prefetch_lines(pf, 3);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m256i sum16[4];
    for (int t = 0; t < nt; t++) sum16[t] = _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[g]);
      const __m256i lo = _mm256_and_si256(q, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      for (int t = 0; t < nt; t++) {
        sum16[t] = _mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(lo, frq_bcast4(y[t]->qs + 4 * g)));
        sum16[t] = _mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(hi, frq_bcast4(y[t]->qs + 16 + 4 * g)));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    __m256i a8[4];
    if (nt == 4) {
      frq_sum8x4_q8_0(a8, y);
    } else {
      for (int t = 0; t < nt; t++) a8[t] = frq_sum8_q8_0(y[t]);
    }
    for (int t = 0; t < nt; t++) {
      const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(sum16[t], ones), a8[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, frq_bcast_half(&y[t]->d)), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

static inline __attribute__((always_inline)) void q8_0_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q8_0_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride) {
  const int nb = n / FR_QK8_0;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const char *pf = (const char *)(x + i) + FRQ_Q0_R8_PREFETCH;
    frq_prefetch_lines(pf, 5);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int g = 0; g < 8; g++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[g]);
      const __m256i aq = _mm256_abs_epi8(q);
      for (int t = 0; t < nt; t++) {
        const __m256i p = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(frq_bcast4(y[t]->qs + 4 * g), q));
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, ones));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    for (int t = 0; t < nt; t++)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, frq_bcast_half(&y[t]->d)), acc[t]);
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

FR_R8_GEMM_ENTRY(fr_gemm_q4_0_r8_q8_0, q4_0_nt)

FR_R8_GEMM_ENTRY(fr_gemm_q8_0_r8_q8_0, q8_0_nt)

#endif /* FR_QUANTS_AVX2 && !FR_QUANTS_AVX512 */
