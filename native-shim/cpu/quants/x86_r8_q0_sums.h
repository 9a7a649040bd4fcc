/*
 * x86_r8_q0_sums.h — activation-side helpers shared by the AVX2 and
 * AVX-512 q4_0_r8 / q8_0_r8 kernels (x86_avx2_r8_q0.c, x86_avx512_r8_q0.c):
 * the activation scale in every lane, and 8 * sum(qs) of a Q8_0 block
 * (Q4_0's -8 offset) broadcast to every lane, alone or for four tokens at
 * once, and how far ahead they prefetch. Only the per-lane partial sums differ between the two: vpdpbusd
 * where VNNI exists, vpmaddubsw + vpmaddwd otherwise.
 */
#ifndef FERRUM_QUANTS_X86_R8_Q0_SUMS_H
#define FERRUM_QUANTS_X86_R8_Q0_SUMS_H

#include "kernels.h"
#include "x86_simd.h"

/* weight bytes ahead of the block being read: decode streams weights from
 * memory (2 KiB was best of 0.5-8 KiB on Zen 3; without, a third slower) */
#define FRQ_Q0_R8_PREFETCH 2048

/* the activation scale d_a in every lane */
static inline __m256 frq_bcast_half(const fr_half *p) { return _mm256_cvtph_ps(_mm_set1_epi16((short)*p)); }

/* per 32-bit lane, 8 * the sum of its four activation bytes */
static inline __m256i frq_sum8_lanes(const fr_block_q8_0 *y) {
  const __m256i q = _mm256_loadu_si256((const __m256i *)y->qs);
#if FR_QUANTS_AVX512
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), q);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(8));
#endif
}

/* 8*sum(qs) of one Q8_0 block in every lane */
static inline __m256i frq_sum8_q8_0(const fr_block_q8_0 *y) {
  __m256i v = frq_sum8_lanes(y);
  v = _mm256_add_epi32(v, _mm256_permute2x128_si256(v, v, 0x01));
  v = _mm256_add_epi32(v, _mm256_shuffle_epi32(v, 0x4e));
  return _mm256_add_epi32(v, _mm256_shuffle_epi32(v, 0xb1));
}

/* the same for four tokens' blocks: a 4x8 transpose-add shares the
 * cross-lane steps (a tenth faster at four tokens) */
static inline void frq_sum8x4_q8_0(__m256i out[4], const fr_block_q8_0 *y[4]) {
  __m256i v[4];
  for (int t = 0; t < 4; t++) v[t] = frq_sum8_lanes(y[t]);
  const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
  const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
  __m256i s = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
  s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 0x01));
  out[0] = _mm256_shuffle_epi32(s, 0x00);
  out[1] = _mm256_shuffle_epi32(s, 0x55);
  out[2] = _mm256_shuffle_epi32(s, 0xaa);
  out[3] = _mm256_shuffle_epi32(s, 0xff);
}

#endif
