/*
 * x86_simd.h — the one place the x86 kernels get their intrinsics from.
 * Normally <immintrin.h>. Under FR_SIMDE_AVX512 (test builds only, see
 * kernels.h) SIMDe instead: it maps every intrinsic the target has to the
 * native instruction and emulates the rest (the AVX-512 ones on an AVX2
 * machine) with the same integer results, so the AVX-512 kernels' bits can
 * be checked against the portable ones where no CPU runs them.
 */
#ifndef FERRUM_QUANTS_X86_SIMD_H
#define FERRUM_QUANTS_X86_SIMD_H

#if defined(FR_SIMDE_AVX512)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <stdint.h>
#if !defined(__AVX512F__)
/* SIMDe 0.7.4 (Debian's libsimde-dev) has no emulation of these widening
 * conversions, so on a CPU without AVX-512 the name would reach GCC's own
 * intrinsic and fail to compile: each is built from its 256-bit halves,
 * which is exactly what the instruction computes lane by lane. */
static inline simde__m512 fr_simde_mm512_cvtepi32_ps(simde__m512i a) {
  return simde_mm512_insertf32x8(simde_mm512_castps256_ps512(simde_mm256_cvtepi32_ps(simde_mm512_castsi512_si256(a))),
                                 simde_mm256_cvtepi32_ps(simde_mm512_extracti64x4_epi64(a, 1)), 1);
}
/* (nor of the 256-bit F16C one: an AVX2 build has F16C natively, so through memory) */
static inline simde__m512 fr_simde_mm512_cvtph_ps(simde__m256i h) {
  uint16_t in[16];
  float out[16];
  simde_mm256_storeu_si256((simde__m256i *)in, h);
  for (int i = 0; i < 16; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
  return simde_mm512_loadu_ps(out);
}
static inline simde__m512i fr_simde_mm512_cvtepu8_epi32(simde__m128i a) {
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(simde_mm256_cvtepu8_epi32(a)),
                                 simde_mm256_cvtepu8_epi32(simde_mm_srli_si128(a, 8)), 1);
}
static inline simde__m512i fr_simde_mm512_cvtepu8_epi16(simde__m256i a) {
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(simde_mm256_cvtepu8_epi16(simde_mm256_castsi256_si128(a))),
                                 simde_mm256_cvtepu8_epi16(simde_mm256_extracti128_si256(a, 1)), 1);
}
static inline simde__m512i fr_simde_mm512_cvtepu16_epi32(simde__m256i a) {
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(simde_mm256_cvtepu16_epi32(simde_mm256_castsi256_si128(a))),
                                 simde_mm256_cvtepu16_epi32(simde_mm256_extracti128_si256(a, 1)), 1);
}
static inline simde__m512i fr_simde_mm512_srai_epi32(simde__m512i a, int imm) {
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(simde_mm256_srai_epi32(simde_mm512_castsi512_si256(a), imm)),
                                 simde_mm256_srai_epi32(simde_mm512_extracti64x4_epi64(a, 1), imm), 1);
}
#undef _mm512_srai_epi32
#undef _mm512_cvtepi32_ps
#undef _mm512_cvtph_ps
#undef _mm512_cvtepu8_epi32
#undef _mm512_cvtepu8_epi16
#undef _mm512_cvtepu16_epi32
#define _mm512_srai_epi32 fr_simde_mm512_srai_epi32
#define _mm512_cvtepi32_ps fr_simde_mm512_cvtepi32_ps
#define _mm512_cvtph_ps fr_simde_mm512_cvtph_ps
#define _mm512_cvtepu8_epi32 fr_simde_mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi16 fr_simde_mm512_cvtepu8_epi16
#define _mm512_cvtepu16_epi32 fr_simde_mm512_cvtepu16_epi32
#endif
#else
#include <immintrin.h>
#endif

#endif
