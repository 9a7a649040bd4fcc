/*
 * x86_avx512_r8_q0.c — AVX-512 VNNI kernels for q4_0_r8 and q8_0_r8
 * (blocks.h), used instead of x86_avx2_r8_q0.c's when the build targets
 * x86-64-v4 + VNNI (FR_QUANTS_AVX512, kernels.h).
 *
 * What changes against AVX2: vpdpbusd (u8 x s8, four products summed
 * into each int32 lane) replaces vpmaddubsw + vpmaddwd (+ vpaddw), so
 * every block sums straight into int32. Q8_0 x Q8_0 is signed x signed
 * and keeps the sign trick (|w| as the u8 operand, a with w's sign);
 * vpdpbusd has no int16 step, so -128 weights need no special care.
 * Q4_0's 8*sum(a) also comes from one vpdpbusd (8 as the u8 operand).
 * Vectors stay 256 bits wide (AVX-512VL): eight rows, eight int32 lanes.
 *
 * Same integers, same fused float step (d_w*d_a, exact) as the portable
 * kernels in q0_r8.c, block by block in column order: the same bits.
 */
#include "kernels.h"

#if FR_QUANTS_AVX512
#include "x86_r8_q0_sums.h"

/* Q4_0: reads fr_block_q4_0_r8 (qs[g][row][4]): eight rows x nt <= 4
 * tokens, row r in lane r; the nibbles (0..15) are the u8 operand and the
 * -8 offset comes off as 8*sum(a) per block and token. */
static inline __attribute__((always_inline)) void q4_0_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q4_0_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride) {
  const int nb = n / FR_QK4_0;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const char *pf = (const char *)(x + i) + FRQ_Q0_R8_PREFETCH;
    frq_prefetch_lines(pf, 3);
    const fr_block_q8_0 *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_0 *)(act + t * a_stride) + i;
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[g]);
      const __m256i lo = _mm256_and_si256(q, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      for (int t = 0; t < nt; t++) {
        isum[t] = _mm256_dpbusd_epi32(isum[t], lo, frq_bcast4(y[t]->qs + 4 * g));
        isum[t] = _mm256_dpbusd_epi32(isum[t], hi, frq_bcast4(y[t]->qs + 16 + 4 * g));
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
      const __m256i d = _mm256_sub_epi32(isum[t], a8[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(dw, frq_bcast_half(&y[t]->d)), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

/* Q8_0: reads fr_block_q8_0_r8 (qs[g][row][4]): eight rows x nt <= 4
 * tokens, row r in lane r; one vpdpbusd per 32-byte run and token. */
static inline __attribute__((always_inline)) void q8_0_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q8_0_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride) {
  const int nb = n / FR_QK8_0;
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
      for (int t = 0; t < nt; t++)
        isum[t] = _mm256_dpbusd_epi32(isum[t], aq, _mm256_sign_epi8(frq_bcast4(y[t]->qs + 4 * g), q));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    for (int t = 0; t < nt; t++)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, frq_bcast_half(&y[t]->d)), acc[t]);
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

FR_R8_GEMM_ENTRY(fr_gemm_q4_0_r8_q8_0, q4_0_nt)

FR_R8_GEMM_ENTRY(fr_gemm_q8_0_r8_q8_0, q8_0_nt)

#endif /* FR_QUANTS_AVX512 */
