/*
 * x86_avx2_r8.c — AVX2 kernels for the r8 layouts of the K-quants
 * (blocks.h): eight weight rows times up to four tokens, the eight rows in
 * the eight lanes.
 *
 * Per 32 bytes of qs: mask/shift the nibbles once, then for each token
 * broadcast four activation bytes to all rows and vpmaddubsw. Eight such
 * products (one sub-block of 32 columns) are summed in int16 before one
 * vpmaddwd applies the sub-block scale: each is at most 2*15*127 = 3810,
 * so eight stay below 32767. Mins go through Q8_K's bsums as in the
 * unpacked kernel. Same integers, same fused float steps as the portable
 * kernel in q4_K_r8.c, so the two agree bit for bit.
 *
 * Q6_K: the 6-bit quants are rebuilt from four bytes of ql and qh per row
 * (values 0..63); two vpmaddubsw products (each <= 2*63*127 = 16002) are
 * summed in int16 before vpmaddwd applies the signed sub-block scale, and
 * the -32 offset comes off through Q8_K's per-16 sums: 32 * sum sc*bsum.
 */
#include "kernels.h"

#if FR_QUANTS_AVX2 && !FR_QUANTS_AVX512 /* else x86_avx512_r8.c */
#include "r8_prefetch.h"
#include "x86_simd.h"

/* int16 pairs (s_r, s_r) in lane r from eight bytes s_0..s_7 */
static inline __m256i r8_scale_pairs(const uint8_t *p) {
  const __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
  return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
}

/* `sms`: every block's scales and mins spread (frq_q4_K_sm_row), or NULL
 * to spread each block as it comes (one token: the block is read once) */
static inline __attribute__((always_inline)) void gemm_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q4_K_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride, const frq_q4_K_sm *restrict sms) {
  const int nb = n / FR_QK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[4], macc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps(), macc[t] = _mm256_setzero_ps();
  /* one token (decode) on long rows, on Zen 4: r8_prefetch.h */
  const int two_stage = nt == 1 && fr_r8_q4_K_two_stage(n);
  for (int i = 0; i < nb; i++) {
    const fr_block_q8_K *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_K *)(act + t * a_stride) + i;
    frq_q4_K_sm own;
    if (!sms) frq_q4_K_sm_unpack(&x[i], &own);
    const frq_q4_K_sm *sm = sms ? &sms[i] : &own;
    /* weights a few blocks ahead: decode streams them from memory */
    if (two_stage) {
      frq_prefetch_lines_l2(x + i + FR_Q4_K_PF_L2_BLOCKS, FR_Q4_K_PF_LINES);
      frq_prefetch_lines(x + i + FR_Q4_K_PF_L1_BLOCKS, FR_Q4_K_PF_LINES);
    } else {
      frq_prefetch_lines(x + i + 2, 2);
    }
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
      if (!two_stage) frq_prefetch_lines((const uint8_t *)(x + i + 2) + 128 + 256 * c, 4);
      __m256i lo16[4], hi16[4];
      for (int t = 0; t < nt; t++) lo16[t] = _mm256_setzero_si256(), hi16[t] = _mm256_setzero_si256();
      for (int g = 0; g < 8; g++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[c][g]);
        const __m256i lo = _mm256_and_si256(q, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        for (int t = 0; t < nt; t++) {
          const int8_t *a = y[t]->qs + 64 * c + 4 * g;
          lo16[t] = _mm256_add_epi16(lo16[t], _mm256_maddubs_epi16(lo, frq_bcast4(a)));
          hi16[t] = _mm256_add_epi16(hi16[t], _mm256_maddubs_epi16(hi, frq_bcast4(a + 32)));
        }
      }
      const __m256i sl = r8_scale_pairs(sm->scales[2 * c]), sh = r8_scale_pairs(sm->scales[2 * c + 1]);
      for (int t = 0; t < nt; t++)
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(lo16[t], sl), _mm256_madd_epi16(hi16[t], sh)));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    const __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].dmin));
    __m256i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm->mins[p]));
    for (int t = 0; t < nt; t++) {
      /* sub-block sums of the activations, as int16 pairs (2p, 2p+1) */
      const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)y[t]->bsums),
                                        _mm_loadu_si128((const __m128i *)(y[t]->bsums + 8)));
      __m256i imin = _mm256_madd_epi16(mn[0], _mm256_set1_epi32(_mm_extract_epi32(bs, 0)));
      imin = _mm256_add_epi32(imin, _mm256_madd_epi16(mn[1], _mm256_set1_epi32(_mm_extract_epi32(bs, 1))));
      imin = _mm256_add_epi32(imin, _mm256_madd_epi16(mn[2], _mm256_set1_epi32(_mm_extract_epi32(bs, 2))));
      imin = _mm256_add_epi32(imin, _mm256_madd_epi16(mn[3], _mm256_set1_epi32(_mm_extract_epi32(bs, 3))));
      const __m256 dy = _mm256_set1_ps(y[t]->d);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, dy), acc[t]);
      macc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_mul_ps(dmw, dy), macc[t]);
    }
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, _mm256_sub_ps(acc[t], macc[t]));
}

/* lane r: int16 pair (sc, sc) of row r's signed scale, from the pairs
 * [r][k] of a q6_K_r8 scales entry broadcast to both 128-bit lanes */
static const uint8_t q6_scale_shuf[2][32] = {
#define R(r, k) 0x80, 2 * (r) + (k), 0x80, 2 * (r) + (k)
#define K(k) {R(0, k), R(1, k), R(2, k), R(3, k), R(4, k), R(5, k), R(6, k), R(7, k)}
    K(0), K(1)
#undef K
#undef R
};

static inline __m256i q6_scale(const int8_t *pairs, int k) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)pairs));
  return _mm256_srai_epi16(_mm256_shuffle_epi8(v, _mm256_loadu_si256((const __m256i *)q6_scale_shuf[k])), 8);
}

static inline __attribute__((always_inline)) void gemm6_nt(int n, const int nt, float *s, size_t s_stride,
                                                           const fr_block_q6_K_r8 *restrict x, const uint8_t *act,
                                                           size_t a_stride) {
  const int nb = n / FR_QK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
  __m256 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const fr_block_q8_K *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_K *)(act + t * a_stride) + i;
    __m256i isum[4];
    for (int t = 0; t < nt; t++) {
      /* -32 * sum_j sc_j * bsum_j, two sub-blocks per vpmaddwd */
      __m256i off = _mm256_setzero_si256();
      for (int q = 0; q < 8; q++) {
        int32_t bs;
        memcpy(&bs, y[t]->bsums + 2 * q, 4);
        off = _mm256_add_epi32(off, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales[q])),
                                                      _mm256_set1_epi32(bs)));
      }
      isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
    }
    for (int h = 0; h < 2; h++) {
      /* one token (decode): two stages, r8_prefetch.h */
      if (nt == 1) {
        frq_prefetch_lines_l2((const uint8_t *)(x + i + FR_Q6_PF_L2_BLOCKS) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
        frq_prefetch_lines((const uint8_t *)(x + i + FR_Q6_PF_L1_BLOCKS) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
      } else {
        frq_prefetch_lines((const uint8_t *)(x + i + 2) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
      }
      for (int g = 0; g < 8; g += 2) {
        /* sub-blocks 8h + g/4 + {0, 2, 4, 6} for the four column runs */
        const int j = 8 * h + g / 4;
        __m256i p16[4][4];
        for (int gg = 0; gg < 2; gg++) {
          const __m256i qh = _mm256_loadu_si256((const __m256i *)FR_Q6_R8_QH(x[i], h, g + gg));
          const __m256i q0 = _mm256_loadu_si256((const __m256i *)FR_Q6_R8_QL(x[i], h, 0, g + gg));
          const __m256i q1 = _mm256_loadu_si256((const __m256i *)FR_Q6_R8_QL(x[i], h, 1, g + gg));
          __m256i v[4];
          v[0] = _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
          v[1] = _mm256_or_si256(_mm256_and_si256(q1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
          v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), _mm256_and_si256(qh, m30));
          v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
                                 _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
          for (int t = 0; t < nt; t++) {
            const int8_t *a = y[t]->qs + 128 * h + 4 * (g + gg);
            for (int c = 0; c < 4; c++) {
              const __m256i p = _mm256_maddubs_epi16(v[c], frq_bcast4(a + 32 * c));
              p16[t][c] = gg ? _mm256_add_epi16(p16[t][c], p) : p;
            }
          }
        }
        __m256i sc[4];
        for (int c = 0; c < 4; c++) sc[c] = q6_scale(x[i].scales[(j + 2 * c) / 2][0], (j + 2 * c) % 2);
        for (int t = 0; t < nt; t++)
          for (int c = 0; c < 4; c++) isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p16[t][c], sc[c]));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    for (int t = 0; t < nt; t++)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, _mm256_set1_ps(y[t]->d)), acc[t]);
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

FR_R8_GEMM_ENTRY(fr_gemm_q6_K_r8_q8_K, gemm6_nt)

void fr_gemm_q4_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  FRQ_Q4_K_TOKENS(gemm_nt)
}

#endif /* FR_QUANTS_AVX2 && !FR_QUANTS_AVX512 */
