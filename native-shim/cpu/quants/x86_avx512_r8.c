/*
 * x86_avx512_r8.c — AVX-512 VNNI kernels for the r8 layouts of the
 * K-quants (blocks.h), used instead of x86_avx2_r8.c's when the build
 * targets x86-64-v4 + VNNI (FR_QUANTS_AVX512, kernels.h).
 *
 * What changes against AVX2: vpdpbusd (u8 x s8, four products summed
 * into each int32 lane, no int16 step) replaces the vpmaddubsw +
 * vpaddw + vpmaddwd chain, so a whole sub-block sums in int32 and needs no
 * headroom argument; vpmulld then applies its scale. vpdpwssd replaces
 * vpmaddwd + vpaddd where int16 scales meet Q8_K's bsums. The vectors stay
 * 256 bits wide (AVX-512VL): the eight rows fill eight int32 lanes, and
 * the 32 ymm registers EVEX gives hold every token's partial sums at once.
 * Exceptions: sixteen rows per zmm in prefill (the pair kernels below), and
 * Q6_K's one-token kernel, two runs of the same rows per zmm.
 *
 * The integers are exact either way and reach the float accumulators as in
 * the portable kernels (q4_K_r8.c, q6_K_r8.c): one int32 per super-block
 * and row, converted, then one fused multiply-add by d*dy. Same bits.
 */
#include "kernels.h"
#include "r8_prefetch.h"

#if FR_QUANTS_AVX512

/* decode streams the weights from memory: prefetch this many blocks ahead
 * (4: ~4.6 KiB for Q4_K, ~6.6 KiB for Q6_K). Zen 5, 2 threads, decode steps
 * alternating between two settings in one process: 4 took 6-8% less time
 * a step than 8 (TinyLlama Q4_K_M), 2, 3, 6 and 12 in between. */
#ifndef FR_K_PREFETCH_BLOCKS
#define FR_K_PREFETCH_BLOCKS 4
#endif

/* Q4_K: reads fr_block_q4_K_r8 (qs[c][g][row][4]; scales/mins spread by frq_q4_K_sm):
 * eight rows x nt <= 4 tokens, row r in int32/float lane r; per 32-byte qs
 * run, four activation bytes per token broadcast to all rows. */
/* `sms`: every block's scales and mins spread (frq_q4_K_sm_row), or NULL
 * to spread each block as it comes */
static inline __attribute__((always_inline)) void gemm_nt(int n, const int nt, float *s, size_t s_stride,
                                                          const fr_block_q4_K_r8 *restrict x, const uint8_t *act,
                                                          size_t a_stride, const frq_q4_K_sm *restrict sms) {
  const int nb = n / FR_QK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[4], macc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps(), macc[t] = _mm256_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const fr_block_q8_K *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_K *)(act + t * a_stride) + i;
    frq_q4_K_sm own;
    if (!sms) frq_q4_K_sm_unpack(&x[i], &own);
    const frq_q4_K_sm *sm = sms ? &sms[i] : &own;
    /* weights a few blocks ahead: decode streams them from memory */
    frq_prefetch_lines(x + i + FR_K_PREFETCH_BLOCKS, 2);
    __m256i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
      const uint8_t *pf = (const uint8_t *)(x + i + FR_K_PREFETCH_BLOCKS) + 128 + 256 * c;
      frq_prefetch_lines(pf, 4);
      /* sub-blocks 2c (low nibbles) and 2c+1 (high), each at most
       * 32*15*127 per lane: int32 is plenty */
      __m256i lo32[4], hi32[4];
      for (int t = 0; t < nt; t++) lo32[t] = _mm256_setzero_si256(), hi32[t] = _mm256_setzero_si256();
      for (int g = 0; g < 8; g++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs[c][g]);
        const __m256i lo = _mm256_and_si256(q, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        for (int t = 0; t < nt; t++) {
          const int8_t *a = y[t]->qs + 64 * c + 4 * g;
          lo32[t] = _mm256_dpbusd_epi32(lo32[t], lo, frq_bcast4(a));
          hi32[t] = _mm256_dpbusd_epi32(hi32[t], hi, frq_bcast4(a + 32));
        }
      }
      const __m256i sl = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sm->scales[2 * c]));
      const __m256i sh = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sm->scales[2 * c + 1]));
      for (int t = 0; t < nt; t++)
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_mullo_epi32(lo32[t], sl), _mm256_mullo_epi32(hi32[t], sh)));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    const __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].dmin));
    __m256i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm->mins[p]));
    for (int t = 0; t < nt; t++) {
      /* sub-block sums of the activations, as int16 pairs (2p, 2p+1):
       * each |sum| <= 32*127 fits int16 */
      const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)y[t]->bsums),
                                        _mm_loadu_si128((const __m128i *)(y[t]->bsums + 8)));
      __m256i imin = _mm256_setzero_si256();
      imin = _mm256_dpwssd_epi32(imin, mn[0], _mm256_set1_epi32(_mm_extract_epi32(bs, 0)));
      imin = _mm256_dpwssd_epi32(imin, mn[1], _mm256_set1_epi32(_mm_extract_epi32(bs, 1)));
      imin = _mm256_dpwssd_epi32(imin, mn[2], _mm256_set1_epi32(_mm_extract_epi32(bs, 2)));
      imin = _mm256_dpwssd_epi32(imin, mn[3], _mm256_set1_epi32(_mm_extract_epi32(bs, 3)));
      const __m256 dy = _mm256_set1_ps(y[t]->d);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, dy), acc[t]);
      macc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_mul_ps(dmw, dy), macc[t]);
    }
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, _mm256_sub_ps(acc[t], macc[t]));
}

/* lane r: row r's signed scale of sub-block 2q + k as int32, from the
 * int16 pairs of scales[q] (v, sign-extended from the int8 pairs) */
static inline __m256i q6_scale32(__m256i v, int k) {
  return k ? _mm256_srai_epi32(v, 16) : _mm256_srai_epi32(_mm256_slli_epi32(v, 16), 16);
}

/* lane r: row r's signed scale of sub-block 2q + k as int32 (q6_scale32 on 512 bits) */
static inline __m512i q6_scale32x16(__m512i v, int k) {
  return k ? _mm512_srai_epi32(v, 16) : _mm512_srai_epi32(_mm512_slli_epi32(v, 16), 16);
}

/* Q6_K: reads fr_block_q6_K_r8 (ql/qh runs of four bytes per row, scales
 * as per-row pairs): eight rows x nt <= 4 tokens, row r in lane r; the
 * 6-bit quants (0..63) are rebuilt per 32-byte run and their -32 offset
 * comes off through Q8_K's per-16 sums, as in the AVX2 kernel. */
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
      /* -32 * sum_j sc_j * bsum_j, two sub-blocks per vpdpwssd */
      __m256i off = _mm256_setzero_si256();
      for (int q = 0; q < 8; q++) {
        int32_t bs;
        memcpy(&bs, y[t]->bsums + 2 * q, 4);
        off = _mm256_dpwssd_epi32(off, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales[q])),
                                  _mm256_set1_epi32(bs));
      }
      isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
    }
    for (int h = 0; h < 2; h++) {
      frq_prefetch_lines((const uint8_t *)(x + i + FR_K_PREFETCH_BLOCKS) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
      for (int g = 0; g < 8; g += 4) {
        /* one sub-block per column run c: 8h + g/4 + 2c, 16 columns, four
         * runs of four; sums at most 16*63*127 per lane */
        const int j = 8 * h + g / 4;
        __m256i s32[4][4];
        for (int t = 0; t < nt; t++)
          for (int c = 0; c < 4; c++) s32[t][c] = _mm256_setzero_si256();
        for (int gg = 0; gg < 4; gg++) {
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
            for (int c = 0; c < 4; c++) s32[t][c] = _mm256_dpbusd_epi32(s32[t][c], v[c], frq_bcast4(a + 32 * c));
          }
        }
        __m256i sc[4];
        for (int c = 0; c < 4; c++) {
          const int jj = j + 2 * c;
          sc[c] = q6_scale32(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales[jj / 2])), jj % 2);
        }
        for (int t = 0; t < nt; t++)
          for (int c = 0; c < 4; c++) isum[t] = _mm256_add_epi32(isum[t], _mm256_mullo_epi32(s32[t][c], sc[c]));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    for (int t = 0; t < nt; t++)
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, _mm256_set1_ps(y[t]->d)), acc[t]);
  }
  for (int t = 0; t < nt; t++) _mm256_storeu_ps(s + t * s_stride, acc[t]);
}

/* Q6_K, one token (decode): the same integers as gemm6_nt with half its
 * vector instructions. A zmm holds two consecutive 32-byte runs of the same
 * eight rows (run 2p in the low half, 2p+1 in the high), each half against
 * its own four activation bytes; the halves' products share a scale, so
 * they are folded once a block. One weight stream, as gemm6_nt. */
static void gemm6_wide1(int n, float *s, const fr_block_q6_K_r8 *restrict x, const fr_block_q8_K *restrict y) {
  const int nb = n / FR_QK_K;
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  const int pf = fr_r8_q6_K_prefetch(n); /* r8_prefetch.h */
  for (int i = 0; i < nb; i++, y++) {
    __m256i off = _mm256_setzero_si256();
    for (int q = 0; q < 8; q++) {
      int32_t bs;
      memcpy(&bs, y->bsums + 2 * q, 4);
      off = _mm256_dpwssd_epi32(off, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales[q])),
                                _mm256_set1_epi32(bs));
    }
    __m512i isum = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
      if (pf == FR_R8_PF_TWO_STAGE) {
        frq_prefetch_lines_l2((const uint8_t *)(x + i + FR_Q6_PF_L2_BLOCKS) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
        frq_prefetch_lines((const uint8_t *)(x + i + FR_Q6_PF_L1_BLOCKS) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
      } else if (pf == FR_R8_PF_L1) {
        frq_prefetch_lines((const uint8_t *)(x + i + FR_K_PREFETCH_BLOCKS) + FR_Q6_PF_HALF * h, FR_Q6_PF_LINES);
      }
      for (int g = 0; g < 8; g += 4) {
        const int j = 8 * h + g / 4;
        __m512i s32[4];
        for (int c = 0; c < 4; c++) s32[c] = _mm512_setzero_si512();
        for (int gg = 0; gg < 4; gg += 2) {
          /* runs g + gg and g + gg + 1, 64 contiguous bytes each (blocks.h) */
          const __m512i q0 = _mm512_loadu_si512(FR_Q6_R8_QL(x[i], h, 0, g + gg));
          const __m512i q1 = _mm512_loadu_si512(FR_Q6_R8_QL(x[i], h, 1, g + gg));
          const __m512i qh = _mm512_loadu_si512(FR_Q6_R8_QH(x[i], h, g + gg));
          __m512i v[4];
          /* m4 ? low : high bits & 0x30, one vpternlogd (0xca: A ? B : C) */
          v[0] = _mm512_ternarylogic_epi32(m4, q0, _mm512_and_si512(_mm512_slli_epi16(qh, 4), m30), 0xca);
          v[1] = _mm512_ternarylogic_epi32(m4, q1, _mm512_and_si512(_mm512_slli_epi16(qh, 2), m30), 0xca);
          v[2] = _mm512_ternarylogic_epi32(m4, _mm512_srli_epi16(q0, 4), _mm512_and_si512(qh, m30), 0xca);
          v[3] = _mm512_ternarylogic_epi32(m4, _mm512_srli_epi16(q1, 4), _mm512_and_si512(_mm512_srli_epi16(qh, 2), m30), 0xca);
          const int8_t *a = y->qs + 128 * h + 4 * (g + gg);
          for (int c = 0; c < 4; c++) s32[c] = _mm512_dpbusd_epi32(s32[c], v[c], frq_bcast4_halves(a + 32 * c));
        }
        for (int c = 0; c < 4; c++) {
          const int jj = j + 2 * c;
          const __m512i sc = _mm512_cvtepi8_epi16(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)x[i].scales[jj / 2])));
          isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(s32[c], q6_scale32x16(sc, jj % 2)));
        }
      }
    }
    const __m256i tot = _mm256_sub_epi32(frq_fold_halves(isum), _mm256_slli_epi32(off, 5));
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_mul_ps(dw, _mm256_set1_ps(y->d)), acc);
  }
  _mm256_storeu_ps(s, acc);
}

/* one token (decode) on gemm6_wide1: against
 * gemm6_nt at one token, 10-12% less Q6_K time a decode step (Zen 5,
 * steps alternating between the two in one process; TinyLlama and Qwen3
 * Q4_K_M, whose output and some ffn_down matrices are Q6_K) */
FR_R8_GEMM_ENTRY_ONE(fr_gemm_q6_K_r8_q8_K, gemm6_nt, gemm6_wide1, fr_block_q6_K_r8, fr_block_q8_K)

/* Q4_K, one token (decode): two consecutive runs of the same eight rows per
 * zmm, each half against its own activation bytes, folded before the
 * scales apply; the integers of gemm_nt. Against gemm_nt, decode steps
 * 0.986-0.997 of the time in four runs (TinyLlama, Qwen3 Q4_K_M; Zen 5,
 * steps alternating in one process): about 1%, at the harness's noise. */
static void gemm_wide1(int n, float *s, const fr_block_q4_K_r8 *restrict x, const fr_block_q8_K *restrict y) {
  const int nb = n / FR_QK_K;
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  const int two_stage = fr_r8_q4_K_two_stage(n); /* r8_prefetch.h */
  for (int i = 0; i < nb; i++, y++) {
    frq_q4_K_sm sm;
    frq_q4_K_sm_unpack(&x[i], &sm);
    if (two_stage) {
      frq_prefetch_lines_l2(x + i + FR_Q4_K_PF_L2_BLOCKS, FR_Q4_K_PF_LINES);
      frq_prefetch_lines(x + i + FR_Q4_K_PF_L1_BLOCKS, FR_Q4_K_PF_LINES);
    } else {
      frq_prefetch_lines(x + i + FR_K_PREFETCH_BLOCKS, 2);
    }
    __m256i isum = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
      if (!two_stage) frq_prefetch_lines((const uint8_t *)(x + i + FR_K_PREFETCH_BLOCKS) + 128 + 256 * c, 4);
      __m512i lo32 = _mm512_setzero_si512(), hi32 = _mm512_setzero_si512();
      for (int g = 0; g < 8; g += 2) {
        const __m512i q = _mm512_loadu_si512(x[i].qs[c][g]);
        const int8_t *a = y->qs + 64 * c + 4 * g;
        lo32 = _mm512_dpbusd_epi32(lo32, _mm512_and_si512(q, m4), frq_bcast4_halves(a));
        hi32 = _mm512_dpbusd_epi32(hi32, _mm512_and_si512(_mm512_srli_epi16(q, 4), m4), frq_bcast4_halves(a + 32));
      }
      const __m256i sl = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sm.scales[2 * c]));
      const __m256i sh = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sm.scales[2 * c + 1]));
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_mullo_epi32(frq_fold_halves(lo32), sl), _mm256_mullo_epi32(frq_fold_halves(hi32), sh)));
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].d));
    const __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x[i].dmin));
    const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)y->bsums), _mm_loadu_si128((const __m128i *)(y->bsums + 8)));
    __m256i imin = _mm256_setzero_si256();
    imin = _mm256_dpwssd_epi32(imin, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm.mins[0])), _mm256_set1_epi32(_mm_extract_epi32(bs, 0)));
    imin = _mm256_dpwssd_epi32(imin, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm.mins[1])), _mm256_set1_epi32(_mm_extract_epi32(bs, 1)));
    imin = _mm256_dpwssd_epi32(imin, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm.mins[2])), _mm256_set1_epi32(_mm_extract_epi32(bs, 2)));
    imin = _mm256_dpwssd_epi32(imin, _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm.mins[3])), _mm256_set1_epi32(_mm_extract_epi32(bs, 3)));
    const __m256 dy = _mm256_set1_ps(y->d);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, dy), acc);
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_mul_ps(dmw, dy), macc);
  }
  _mm256_storeu_ps(s, _mm256_sub_ps(acc, macc));
}

void fr_gemm_q4_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  if (nt == 1) {
    gemm_wide1(n, s, w, act);
    return;
  }
  FRQ_Q4_K_TOKENS(gemm_nt)
}

/*
 * Sixteen rows per pass (prefill): two consecutive r8 groups, A's eight
 * rows in the low 256 bits of a zmm and B's in the high, so one broadcast
 * and one vpdpbusd serve both. Each lane computes what the 256-bit kernels
 * above compute for its row (same integers, same float steps).
 */

static inline __attribute__((always_inline)) void gemm_pair_nt(int n, const int nt, float *s, size_t s_stride,
                                                               const fr_block_q4_K_r8 *restrict xa,
                                                               const fr_block_q4_K_r8 *restrict xb, const uint8_t *act,
                                                               size_t a_stride,
                                                               const frq_q4_K_sm (*restrict sms)[FRQ_Q4_K_SM_BLOCKS]) {
  const int nb = n / FR_QK_K;
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  __m512 acc[4], macc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps(), macc[t] = _mm512_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const fr_block_q8_K *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_K *)(act + t * a_stride) + i;
    frq_q4_K_sm owna, ownb;
    if (!sms) frq_q4_K_sm_unpack(&xa[i], &owna), frq_q4_K_sm_unpack(&xb[i], &ownb);
    const frq_q4_K_sm *sma = sms ? &sms[0][i] : &owna, *smb = sms ? &sms[1][i] : &ownb;
    __m512i isum[4];
    for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; c++) {
      __m512i lo32[4], hi32[4];
      for (int t = 0; t < nt; t++) lo32[t] = _mm512_setzero_si512(), hi32[t] = _mm512_setzero_si512();
      for (int g = 0; g < 8; g++) {
        const __m512i q = frq_pair256(xa[i].qs[c][g], xb[i].qs[c][g]);
        const __m512i lo = _mm512_and_si512(q, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        for (int t = 0; t < nt; t++) {
          const int8_t *a = y[t]->qs + 64 * c + 4 * g;
          lo32[t] = _mm512_dpbusd_epi32(lo32[t], lo, frq_bcast4x16(a));
          hi32[t] = _mm512_dpbusd_epi32(hi32[t], hi, frq_bcast4x16(a + 32));
        }
      }
      const __m512i sl = _mm512_cvtepu8_epi32(frq_pair64(sma->scales[2 * c], smb->scales[2 * c]));
      const __m512i sh = _mm512_cvtepu8_epi32(frq_pair64(sma->scales[2 * c + 1], smb->scales[2 * c + 1]));
      for (int t = 0; t < nt; t++)
        isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(lo32[t], sl), _mm512_mullo_epi32(hi32[t], sh)));
    }
    const __m512 dw = _mm512_cvtph_ps(frq_pair128(xa[i].d, xb[i].d));
    const __m512 dmw = _mm512_cvtph_ps(frq_pair128(xa[i].dmin, xb[i].dmin));
    __m512i mn[4];
    for (int p = 0; p < 4; p++) mn[p] = _mm512_cvtepu8_epi16(frq_pair128(sma->mins[p], smb->mins[p]));
    for (int t = 0; t < nt; t++) {
      const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)y[t]->bsums),
                                        _mm_loadu_si128((const __m128i *)(y[t]->bsums + 8)));
      __m512i imin = _mm512_setzero_si512();
      imin = _mm512_dpwssd_epi32(imin, mn[0], _mm512_set1_epi32(_mm_extract_epi32(bs, 0)));
      imin = _mm512_dpwssd_epi32(imin, mn[1], _mm512_set1_epi32(_mm_extract_epi32(bs, 1)));
      imin = _mm512_dpwssd_epi32(imin, mn[2], _mm512_set1_epi32(_mm_extract_epi32(bs, 2)));
      imin = _mm512_dpwssd_epi32(imin, mn[3], _mm512_set1_epi32(_mm_extract_epi32(bs, 3)));
      const __m512 dy = _mm512_set1_ps(y[t]->d);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, dy), acc[t]);
      macc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imin), _mm512_mul_ps(dmw, dy), macc[t]);
    }
  }
  for (int t = 0; t < nt; t++) _mm512_storeu_ps(s + t * s_stride, _mm512_sub_ps(acc[t], macc[t]));
}

static inline __attribute__((always_inline)) void gemm6_pair_nt(int n, const int nt, float *s, size_t s_stride,
                                                                const fr_block_q6_K_r8 *restrict xa,
                                                                const fr_block_q6_K_r8 *restrict xb, const uint8_t *act,
                                                                size_t a_stride) {
  const int nb = n / FR_QK_K;
  const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[4];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int i = 0; i < nb; i++) {
    const fr_block_q8_K *y[4];
    for (int t = 0; t < nt; t++) y[t] = (const fr_block_q8_K *)(act + t * a_stride) + i;
    __m512i isum[4];
    for (int t = 0; t < nt; t++) {
      __m512i off = _mm512_setzero_si512();
      for (int q = 0; q < 8; q++) {
        int32_t bs;
        memcpy(&bs, y[t]->bsums + 2 * q, 4);
        off = _mm512_dpwssd_epi32(off, _mm512_cvtepi8_epi16(frq_pair128(xa[i].scales[q], xb[i].scales[q])), _mm512_set1_epi32(bs));
      }
      isum[t] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(off, 5));
    }
    for (int h = 0; h < 2; h++) {
      for (int g = 0; g < 8; g += 4) {
        const int j = 8 * h + g / 4;
        __m512i s32[4][4];
        for (int t = 0; t < nt; t++)
          for (int c = 0; c < 4; c++) s32[t][c] = _mm512_setzero_si512();
        for (int gg = 0; gg < 4; gg++) {
          const __m512i qh = frq_pair256(FR_Q6_R8_QH(xa[i], h, g + gg), FR_Q6_R8_QH(xb[i], h, g + gg));
          const __m512i q0 = frq_pair256(FR_Q6_R8_QL(xa[i], h, 0, g + gg), FR_Q6_R8_QL(xb[i], h, 0, g + gg));
          const __m512i q1 = frq_pair256(FR_Q6_R8_QL(xa[i], h, 1, g + gg), FR_Q6_R8_QL(xb[i], h, 1, g + gg));
          __m512i v[4];
          v[0] = _mm512_or_si512(_mm512_and_si512(q0, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 4), m30));
          v[1] = _mm512_or_si512(_mm512_and_si512(q1, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 2), m30));
          v[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), _mm512_and_si512(qh, m30));
          v[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q1, 4), m4),
                                 _mm512_and_si512(_mm512_srli_epi16(qh, 2), m30));
          for (int t = 0; t < nt; t++) {
            const int8_t *a = y[t]->qs + 128 * h + 4 * (g + gg);
            for (int c = 0; c < 4; c++) s32[t][c] = _mm512_dpbusd_epi32(s32[t][c], v[c], frq_bcast4x16(a + 32 * c));
          }
        }
        __m512i sc[4];
        for (int c = 0; c < 4; c++) {
          const int jj = j + 2 * c;
          sc[c] = q6_scale32x16(_mm512_cvtepi8_epi16(frq_pair128(xa[i].scales[jj / 2], xb[i].scales[jj / 2])), jj % 2);
        }
        for (int t = 0; t < nt; t++)
          for (int c = 0; c < 4; c++) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s32[t][c], sc[c]));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(frq_pair128(xa[i].d, xb[i].d));
    for (int t = 0; t < nt; t++)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, _mm512_set1_ps(y[t]->d)), acc[t]);
  }
  for (int t = 0; t < nt; t++) _mm512_storeu_ps(s + t * s_stride, acc[t]);
}

void fr_gemm2_q4_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes, const void *act,
                           size_t a_stride) {
  const fr_block_q4_K_r8 *xa = w, *xb = (const fr_block_q4_K_r8 *)((const uint8_t *)w + group_bytes);
  const int nb = n / FR_QK_K;
  const uint8_t *a = act;
  if (nb <= FRQ_Q4_K_SM_BLOCKS) {
    frq_q4_K_sm sm[2][FRQ_Q4_K_SM_BLOCKS];
    frq_q4_K_sm_row(xa, nb, sm[0]);
    frq_q4_K_sm_row(xb, nb, sm[1]);
    FRQ_Q4_K_RUNS(gemm_pair_nt, sm, xa, xb)
  } else {
    FRQ_Q4_K_RUNS(gemm_pair_nt, NULL, xa, xb)
  }
}

FR_R8_GEMM2_ENTRY(fr_gemm2_q6_K_r8_q8_K, fr_block_q6_K_r8, gemm6_pair_nt)

#endif /* FR_QUANTS_AVX512 */
