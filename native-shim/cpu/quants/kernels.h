/*
 * kernels.h — private to quants/: the per-family entry points that traits.c
 * puts into the table, the exact half/bfloat conversions every family
 * needs inline, and the floating-point contract they all rely on.
 *
 * Include this first in every .c file here: the pragma below must precede
 * every function definition in the file. Inline helpers are named frq_ so
 * they cannot be confused with same-purpose helpers elsewhere in cpu/
 * (half.h's fr_h2f/fr_f2h).
 */
#ifndef FERRUM_QUANTS_KERNELS_H
#define FERRUM_QUANTS_KERNELS_H

/*
 * No FMA contraction in this code. GCC in its default GNU mode (and the
 * build passes -march=native) fuses a*b+c into one FMA, which skips the
 * rounding of a*b that ggml performs. It matters for Q8_K's quantizer,
 * whose round-to-integer is x*iscale + 1.5*2^23: fused, products a hair
 * off .5 round the other way (test/native/quants_check.c catches it). The
 * dequantizers compute dl*q - ml too; today those products are exact (an
 * fp16 scale times small integers) so fusing would not change them, but
 * bit-exactness should not rest on that. The dot products lose fusion as
 * well, which costs little next to their integer work.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <stdint.h>
#include <string.h>

/*
 * Put before the short fixed-count loops inside a block (16 or 32 int8
 * products summed). Nested in the per-block loop, GCC's early pass unrolls
 * them completely and the scalar code that is left never vectorises; kept
 * as loops, the loop vectoriser turns the widening int8 sum into SIMD
 * multiply-adds. Clang vectorises before it unrolls and needs nothing.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define FR_BLOCK_LOOP _Pragma("GCC unroll 1")
#else
#define FR_BLOCK_LOOP
#endif

#include "../quants.h"
#include "blocks.h"

/*
 * Hand-written AVX2 dot products (x86_avx2.c) replace the portable ones of
 * the same name when the build targets AVX2+FMA+F16C (-march=native on any
 * x86 since Haswell/Zen). The portable versions stay the only ones in a
 * baseline build, which test/native-quants.test.ts checks as well.
 */
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define FR_QUANTS_AVX2 1
#else
#define FR_QUANTS_AVX2 0
#endif

/*
 * AVX-512 VNNI r8 gemm kernels (x86_avx512_r8.c, and x86_r8_q0.c's VNNI
 * dot steps) replace the AVX2 ones in builds for x86-64-v4 + VNNI; every other AVX2 kernel stays in use, so
 * this implies FR_QUANTS_AVX2. FR_SIMDE_AVX512 (tests only) turns them on
 * over an AVX2 build, SIMDe emulating the AVX-512 instructions
 * (x86_simd.h), so machines without AVX-512 still check their bits.
 */
#if FR_QUANTS_AVX2 && (defined(FR_SIMDE_AVX512) || (defined(__AVX512F__) && defined(__AVX512BW__) && \
                                                    defined(__AVX512VL__) && defined(__AVX512VNNI__)))
#define FR_QUANTS_AVX512 1
#else
#define FR_QUANTS_AVX512 0
#endif
/* BF16 weights through vdpbf16ps (quants/fp.c) in the avx512bf16 build,
 * summed as ggml's zen4 build does; tinyBLAS steps by 32 there */
#if FR_QUANTS_AVX512 && defined(__AVX512BF16__)
#define FR_QUANTS_BF16 1
#define FR_BF16_GEMM_K 32
#else
#define FR_QUANTS_BF16 0
#define FR_BF16_GEMM_K 8
#endif
/* gemm_dot's register tiles (fp.c): AVX2 builds for f32/f16/bf16 (bf16:
 * AVX-512 BF16's own in the avx512bf16 build); NULL in portable builds */
#if FR_QUANTS_AVX2
void fr_gemm_dot_tile_f32(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                          size_t a_stride);
void fr_gemm_dot_tile_f16(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                          size_t a_stride);
void fr_gemm_dot_tile_bf16(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                           size_t a_stride);
#define FR_DOT_TILE(f) f
#else
#define FR_DOT_TILE(f) NULL
#endif
/* eight-row tiles, two rows per zmm (fp.c): AVX-512 builds for f32/f16, and
 * bf16 where it keeps the AVX2 order (no AVX-512 BF16) */
#if FR_QUANTS_AVX512
void fr_gemm_dot_tile8_f32(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                           size_t a_stride);
void fr_gemm_dot_tile8_f16(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                           size_t a_stride);
#define FR_DOT_TILE8(f) f
#else
#define FR_DOT_TILE8(f) NULL
#endif
#if FR_QUANTS_AVX512 && !FR_QUANTS_BF16
void fr_gemm_dot_tile8_bf16(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                            size_t a_stride);
#define FR_DOT_TILE8_BF16 fr_gemm_dot_tile8_bf16
#else
#define FR_DOT_TILE8_BF16 NULL
#endif
#if defined(FR_SIMDE_AVX512) && !FR_QUANTS_AVX2
#error "FR_SIMDE_AVX512 emulates AVX-512 on top of a native AVX2 build: add -march=native (or x86-64-v3)"
#endif

static inline uint32_t frq_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float frq_f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/*
 * binary16 -> binary32 is exact, so any correct method agrees with ggml and
 * F16C. Written with selects rather than branches so row conversions
 * vectorise. NaNs come out quiet with their payload kept, as F16C and
 * ggml's multiply-based version both do.
 */
static inline float frq_h2f(fr_half h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  /* signed, so the int -> float conversion below vectorises on AVX2 */
  const int32_t em = h & 0x7fff;
  /* normals: rebias the exponent from 15 to 127 */
  uint32_t bits = ((uint32_t)em << 13) + ((127u - 15u) << 23);
  /* inf / NaN: exponent all ones */
  const uint32_t special = ((uint32_t)em << 13) | 0x7f800000u | (em > 0x7c00 ? 0x00400000u : 0u);
  bits = em >= 0x7c00 ? special : bits;
  /* subnormals (and zero) are em * 2^-24, exact in binary32. Blended with
   * a mask, not a ?: — GCC sinks a possibly-trapping float op into one arm
   * of a conditional and then refuses to vectorise the row loop. */
  const uint32_t sub = frq_f32_bits((float)em * 0x1p-24f);
  const uint32_t is_sub = 0u - (uint32_t)(em < 0x0400);
  return frq_f32_from_bits(sign | (sub & is_sub) | (bits & ~is_sub));
}

/*
 * binary32 -> binary16, round to nearest even, as the CPU backend's F16C
 * conversion (vcvtps2ph) does at run time: overflow goes to inf, NaN stays
 * NaN with the quiet bit set and the top 10 payload bits kept. (ggml's
 * portable fallback writes 0x7e00 for every NaN; finite values agree.)
 */
static inline fr_half frq_f2h(float f) {
  const uint32_t x = frq_f32_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t a = x & 0x7fffffffu;
  /* normal range: drop 13 mantissa bits with round-half-even, then rebias;
   * a carry out of the mantissa correctly bumps the exponent, and anything
   * at or past 65520 lands on or beyond 0x7c00 and is clamped to inf */
  uint32_t n = (a - ((127u - 15u) << 23) + 0x0fffu + ((a >> 13) & 1u)) >> 13;
  n = n > 0x7c00u ? 0x7c00u : n;
  /* below 2^-14 the result counts units of 2^-24: shift the 24-bit
   * significand right by 126 - exponent with round-half-even. Integer-only
   * on purpose: a float op on one side of the select keeps GCC (trapping
   * math) from if-converting, and the row loop would not vectorise. The
   * shift is clamped so it stays defined on the lanes the select discards;
   * 25 already rounds everything below 2^-25 to zero. */
  const uint32_t e = a >> 23;
  const uint32_t m = (a & 0x007fffffu) | 0x00800000u;
  uint32_t sh = 126u - e;
  sh = e > 112u ? 14u : sh;
  sh = e < 101u ? 25u : sh;
  const uint32_t s = (m + ((1u << (sh - 1u)) - 1u) + ((m >> sh) & 1u)) >> sh;
  const uint32_t nan = 0x7e00u | ((a >> 13) & 0x03ffu);
  uint32_t r = a < 0x38800000u ? s : n;
  r = a > 0x7f800000u ? nan : r;
  return (fr_half)(sign | r);
}

/*
 * Scalar conversions of one block scale. frq_h2f/frq_f2h above are built for
 * row loops; for a single value per block, F16C's one-instruction
 * conversion (reached through _Float16: these are the very instructions
 * ggml-cpu uses) or a predictable branch for normal numbers is cheaper.
 * (_Float16 is not used in row loops: GCC 12 does not vectorise it without
 * AVX512-FP16 and converts one element at a time.)
 */
#if defined(__F16C__) && defined(__FLT16_MAX__)
static inline float frq_h2f_scale(fr_half h) {
  _Float16 f;
  memcpy(&f, &h, sizeof f);
  return (float)f;
}
static inline fr_half frq_f2h_scale(float x) {
  const _Float16 f = (_Float16)x;
  fr_half h;
  memcpy(&h, &f, sizeof h);
  return h;
}
#else
static inline float frq_h2f_scale(fr_half h) {
  const uint32_t em = h & 0x7fffu;
  if (__builtin_expect(em - 0x0400u < 0x7800u, 1))
    return frq_f32_from_bits(((uint32_t)(h & 0x8000u) << 16) | ((em << 13) + ((127u - 15u) << 23)));
  return frq_h2f(h);
}
static inline fr_half frq_f2h_scale(float x) { return frq_f2h(x); }
#endif

static inline float frq_bf2f(uint16_t h) {
  return frq_f32_from_bits((uint32_t)h << 16);
}

/* round half to even on the dropped 16 bits; NaN keeps its top bits and is
 * forced quiet (ggml's scalar conversion, which the CPU backend uses) */
static inline uint16_t frq_f2bf(float f) {
  const uint32_t x = frq_f32_bits(f);
  const uint32_t r = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  const uint32_t nan = (x >> 16) | 0x40u;
  return (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? nan : r);
}

/*
 * ggml's x86 reductions of 8 float lanes, which the dot products below
 * reproduce bit for bit (the AVX2 build node-llama-cpp loads):
 *  - frq_hsum8: hsum_float_8 of the quantized dots and tinyBLAS's hsum:
 *    the two 128-bit halves added, then the high pair onto the low pair,
 *    then lane 1 onto lane 0: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
 *  - frq_hadd8: the hadd-based fold of GGML_F32x8_REDUCE (ggml_vec_dot_f32
 *    and ggml_vec_dot_f16): ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)).
 * Float addition is commutative, so only the pairing matters.
 */
static inline float frq_hsum8(const float *l) {
  const float s0 = l[0] + l[4], s1 = l[1] + l[5], s2 = l[2] + l[6], s3 = l[3] + l[7];
  return (s0 + s2) + (s1 + s3);
}

static inline float frq_hadd8(const float *l) {
  const float s0 = l[0] + l[4], s1 = l[1] + l[5], s2 = l[2] + l[6], s3 = l[3] + l[7];
  return (s0 + s1) + (s2 + s3);
}

/* Q4_K/Q5_K pack 8 6-bit scales and 8 6-bit mins into 12 bytes: entries
 * 0-3 sit whole in bytes 0-3 (scales) and 4-7 (mins); entries 4-7 keep
 * their low nibbles in bytes 8-11 and their top 2 bits in the spare top
 * bits of bytes 0-3 (scales) and 4-7 (mins). */
static inline void fr_k4_scale_min(const uint8_t *restrict p, int j, int32_t *restrict sc, int32_t *restrict mn) {
  if (j < 4) {
    *sc = p[j] & 63;
    *mn = p[j + 4] & 63;
  } else {
    *sc = (p[j + 4] & 0x0f) | ((p[j - 4] >> 6) << 4);
    *mn = (p[j + 4] >> 4) | ((p[j] >> 6) << 4);
  }
}

/* A q4_K_r8 block's scales and mins a byte each, as its kernels read them:
 * scales[j][r] for sub-block j of row r, mins[p][r][k] for sub-block
 * 2p + k (pairs, as vpmaddwd / vpdpwssd take them with the bsum pairs) */
typedef struct {
  uint8_t scales[8][FR_R8_ROWS];
  uint8_t mins[4][FR_R8_ROWS][2];
} frq_q4_K_sm;

/* the block's packed sm_lo / sm_hi (blocks.h) spread out: the portable
 * form (frq_q4_K_sm_unpack below is the x86 builds' vector one, the same
 * bytes) */
static inline void frq_q4_K_sm_portable(const fr_block_q4_K_r8 *restrict x, frq_q4_K_sm *restrict o) {
  for (int c = 0; c < 4; c++)
    for (int r = 0; r < FR_R8_ROWS; r++)
      for (int k = 0; k < 2; k++) {
        const int lo = x->sm_lo[2 * c + k][r], hi = x->sm_hi[c][r];
        o->scales[2 * c + k][r] = (uint8_t)((lo & 15) | ((hi >> (2 * k)) & 3) << 4);
        o->mins[c][r][k] = (uint8_t)((lo >> 4) | ((hi >> (4 + 2 * k)) & 3) << 4);
      }
}

/* fp.c */
void fr_f32_to_float(const void *x, float *y, int64_t n);
void fr_f32_from_float(const float *x, void *y, int64_t n);
void fr_vec_dot_f32(int n, float *s, const void *w, const void *a);
void fr_f16_to_float(const void *x, float *y, int64_t n);
void fr_f16_from_float(const float *x, void *y, int64_t n);
void fr_vec_dot_f16(int n, float *s, const void *w, const void *a);
void fr_bf16_to_float(const void *x, float *y, int64_t n);
void fr_bf16_from_float(const float *x, void *y, int64_t n);
void fr_vec_dot_bf16(int n, float *s, const void *w, const void *a);
void fr_gemm_dot_f32(int n, float *s, const void *w, const void *a);
void fr_gemm_dot_f16(int n, float *s, const void *w, const void *a);
void fr_gemm_dot_bf16(int n, float *s, const void *w, const void *a);

/* q_legacy.c */
void fr_q4_0_to_float(const void *x, float *y, int64_t n);
void fr_q4_1_to_float(const void *x, float *y, int64_t n);
void fr_q5_0_to_float(const void *x, float *y, int64_t n);
void fr_q5_1_to_float(const void *x, float *y, int64_t n);
void fr_q8_0_to_float(const void *x, float *y, int64_t n);
void fr_q8_1_to_float(const void *x, float *y, int64_t n);
void fr_q8_0_from_float(const float *x, void *y, int64_t n);
void fr_q8_1_from_float(const float *x, void *y, int64_t n);
void fr_vec_dot_q4_0_q8_0(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q4_1_q8_1(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q5_0_q8_0(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q5_1_q8_1(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q8_0_q8_0(int n, float *s, const void *w, const void *a);

/* q_k.c */
void fr_q2_K_to_float(const void *x, float *y, int64_t n);
void fr_q3_K_to_float(const void *x, float *y, int64_t n);
void fr_q4_K_to_float(const void *x, float *y, int64_t n);
void fr_q5_K_to_float(const void *x, float *y, int64_t n);
void fr_q6_K_to_float(const void *x, float *y, int64_t n);
void fr_vec_dot_q2_K_q8_K(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q3_K_q8_K(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q4_K_q8_K(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q5_K_q8_K(int n, float *s, const void *w, const void *a);
void fr_vec_dot_q6_K_q8_K(int n, float *s, const void *w, const void *a);

#if FR_QUANTS_AVX2
#include "x86_simd.h"

/* four int8 activations broadcast to every 32-bit lane: the r8 kernels'
 * multiplier for four columns of all eight rows (x86_avx2_r8*.c) */
static inline __m256i frq_bcast4(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

/* frq_q4_K_sm_portable on 128-bit vectors, all eight rows at once: per
 * pair c, sub-blocks 2c and 2c+1 are the halves of one vector (sm_lo's
 * two rows of eight bytes; sm_hi's byte, and the same shifted down two
 * bits, so both halves find their bits at 0-1 and 4-5). Byte shifts are
 * 16-bit shifts whose spill from the neighbouring byte the masks drop. */
static inline void frq_q4_K_sm_unpack(const fr_block_q4_K_r8 *restrict x, frq_q4_K_sm *restrict o) {
  const __m128i m4 = _mm_set1_epi8(0x0f), m3 = _mm_set1_epi8(0x03);
  for (int c = 0; c < 4; c++) {
    const __m128i lo = _mm_loadu_si128((const __m128i *)x->sm_lo[2 * c]);
    const __m128i h8 = _mm_loadl_epi64((const __m128i *)x->sm_hi[c]);
    const __m128i hi = _mm_unpacklo_epi64(h8, _mm_srli_epi16(h8, 2));
    const __m128i sc = _mm_or_si128(_mm_and_si128(lo, m4), _mm_slli_epi16(_mm_and_si128(hi, m3), 4));
    const __m128i mn = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(lo, 4), m4),
                                    _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hi, 4), m3), 4));
    _mm_storeu_si128((__m128i *)o->scales[2 * c], sc);
    _mm_storeu_si128((__m128i *)o->mins[c], _mm_unpacklo_epi8(mn, _mm_unpackhi_epi64(mn, mn)));
  }
}

/* Prefill: a row group's scales and mins spread for all its blocks once
 * per call, not once per run of four tokens (6% of a Qwen3 pp512 when
 * every run spread its own); the kernels then read sm[i]. Rows longer than
 * FRQ_Q4_K_SM_BLOCKS blocks (n > 32768) spread per block and run (a test
 * build sets it lower to run that path on short rows). */
#ifndef FRQ_Q4_K_SM_BLOCKS
#define FRQ_Q4_K_SM_BLOCKS 128
#endif
static inline void frq_q4_K_sm_row(const fr_block_q4_K_r8 *restrict x, int nb, frq_q4_K_sm *restrict o) {
  for (int i = 0; i < nb; i++) frq_q4_K_sm_unpack(&x[i], &o[i]);
}
/* runs of four tokens, then a tail, of a Q4_K kernel
 * kernel(n, k, s, s_stride, <row group(s)>, a, a_stride, sms), the row
 * groups being the variadic arguments; each caller passes a literal NULL or
 * its own array as sms, so the always_inline kernel is compiled once each
 * way, with no test per block */
#define FRQ_Q4_K_RUNS(kernel, sms, ...)                                                                       \
  for (; nt >= 4; nt -= 4, s += 4 * s_stride, a += 4 * a_stride)                                                \
    kernel(n, 4, s, s_stride, __VA_ARGS__, a, a_stride, sms);                                                    \
  if (nt == 3) kernel(n, 3, s, s_stride, __VA_ARGS__, a, a_stride, sms);                                         \
  if (nt == 2) kernel(n, 2, s, s_stride, __VA_ARGS__, a, a_stride, sms);                                         \
  if (nt == 1) kernel(n, 1, s, s_stride, __VA_ARGS__, a, a_stride, sms);

/* FR_R8_GEMM_TOKENS for a Q4_K kernel over one row group at w: with two or
 * more tokens the group's scales and mins are spread once for all its
 * blocks; one token (each block read once), or rows too long for sm,
 * spread per block */
#define FRQ_Q4_K_TOKENS(kernel)                                                                                 \
  const uint8_t *a = act;                                                                                       \
  if (nt > 1 && n / FR_QK_K <= FRQ_Q4_K_SM_BLOCKS) {                                                            \
    frq_q4_K_sm sm[FRQ_Q4_K_SM_BLOCKS];                                                                         \
    frq_q4_K_sm_row(w, n / FR_QK_K, sm);                                                                        \
    FRQ_Q4_K_RUNS(kernel, sm, w)                                                                                \
  } else {                                                                                                      \
    FRQ_Q4_K_RUNS(kernel, NULL, w)                                                                              \
  }

/* `lines` cache lines from p on into L1: the r8 kernels read weights a
 * fixed distance ahead of the block they multiply (decode streams them) */
static inline __attribute__((always_inline)) void frq_prefetch_lines(const void *p, int lines) {
  for (int k = 0; k < lines; k++) _mm_prefetch((const char *)p + 64 * k, _MM_HINT_T0);
}
/* the same into L2 only (prefetcht1): a far-ahead stream whose lines wait
 * in L2 for a near prefetch into L1, so the far one holds no L1 miss slot */
static inline __attribute__((always_inline)) void frq_prefetch_lines_l2(const void *p, int lines) {
  for (int k = 0; k < lines; k++) _mm_prefetch((const char *)p + 64 * k, _MM_HINT_T1);
}

/* An r8 gemm entry point over a kernel specialised by token count: nt
 * tokens as runs of four, then a tail of one to three (the kernel is
 * always_inline, so each count is compiled with its own registers). */
#define FR_R8_GEMM_TOKENS(kernel)                                                                               \
  const uint8_t *a = act;                                                                                       \
  for (; nt >= 4; nt -= 4, s += 4 * s_stride, a += 4 * a_stride) kernel(n, 4, s, s_stride, w, a, a_stride);     \
  if (nt == 3) kernel(n, 3, s, s_stride, w, a, a_stride);                                                       \
  if (nt == 2) kernel(n, 2, s, s_stride, w, a, a_stride);                                                       \
  if (nt == 1) kernel(n, 1, s, s_stride, w, a, a_stride);
#define FR_R8_GEMM_ENTRY(name, kernel)                                                                          \
  void name(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {         \
    FR_R8_GEMM_TOKENS(kernel)                                                                                   \
  }
/* the same, with a call for one token (decode) going to a kernel of its
 * own: one(n, s, weight blocks, activation blocks) */
#define FR_R8_GEMM_ENTRY_ONE(name, kernel, one, wblock, ablock)                                                 \
  void name(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {         \
    if (nt == 1) {                                                                                              \
      one(n, s, (const wblock *)w, (const ablock *)act);                                                        \
      return;                                                                                                   \
    }                                                                                                           \
    FR_R8_GEMM_TOKENS(kernel)                                                                                   \
  }

#if FR_QUANTS_AVX512
/* The sixteen-row (two r8 groups) kernels: group A's 8 rows in the low 256
 * bits of a zmm, group B's in the high. A's bytes at a, B's at b: */
static inline __m512i frq_pair256(const void *a, const void *b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                            _mm256_loadu_si256((const __m256i *)b), 1);
}
static inline __m256i frq_pair128(const void *a, const void *b) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                 _mm_loadu_si128((const __m128i *)b), 1);
}
static inline __m128i frq_pair64(const void *a, const void *b) {
  return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)a), _mm_loadl_epi64((const __m128i *)b));
}
/* four int8 activations in every lane of a zmm */
static inline __m512i frq_bcast4x16(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
/* the one-token kernels that hold two consecutive 32-byte runs of the
 * same eight rows in a zmm: p[0..3] in the low eight lanes, p[4..7] in the
 * high eight */
static inline __m512i frq_bcast4_halves(const int8_t *p) {
  return _mm512_permutexvar_epi32(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                  _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)p)));
}
/* and their two halves' int32 lanes added: row r's sum in lane r */
static inline __m256i frq_fold_halves(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* A sixteen-row entry point (fr_gemm2_r8_fn) over a pair kernel, as
 * FR_R8_GEMM_ENTRY: runs of four tokens, then a tail of one to three. */
#define FR_R8_GEMM2_ENTRY(name, block, kernel)                                                                    \
  void name(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes, const void *act,        \
            size_t a_stride) {                                                                                    \
    const block *xa = w, *xb = (const block *)((const uint8_t *)w + group_bytes);                                 \
    const uint8_t *a = act;                                                                                       \
    for (; nt >= 4; nt -= 4, s += 4 * s_stride, a += 4 * a_stride) kernel(n, 4, s, s_stride, xa, xb, a, a_stride); \
    if (nt == 3) kernel(n, 3, s, s_stride, xa, xb, a, a_stride);                                                  \
    if (nt == 2) kernel(n, 2, s, s_stride, xa, xb, a, a_stride);                                                  \
    if (nt == 1) kernel(n, 1, s, s_stride, xa, xb, a, a_stride);                                                  \
  }
#endif

/* x86_avx2.c: one weight row times four activation rows */
void fr_vec_dot4_q4_K_q8_K(int n, float *s, size_t s_stride, const void *w, const void *a, size_t a_stride);
void fr_vec_dot4_q6_K_q8_K(int n, float *s, size_t s_stride, const void *w, const void *a, size_t a_stride);
#define FR_DOT4(f) f
#else
#define FR_DOT4(f) NULL
#endif

/* sixteen-row prefill kernels (fr_gemm2_r8_fn) of the AVX-512 builds:
 * x86_r8_q0.c, x86_avx512_r8.c */
#if FR_QUANTS_AVX512
void fr_gemm2_q4_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes, const void *act,
                           size_t a_stride);
void fr_gemm2_q6_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes, const void *act,
                           size_t a_stride);
void fr_gemm2_q4_0_r8_q8_0(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes, const void *act,
                           size_t a_stride);
void fr_gemm2_q8_0_r8_q8_0(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes, const void *act,
                           size_t a_stride);
#define FR_GEMM2(f) f
#else
#define FR_GEMM2(f) NULL
#endif

/* q4_K_r8.c (repack; portable kernel), x86_avx2_r8.c (AVX2 kernel) and
 * x86_avx512_r8.c (AVX-512 VNNI kernel) */
void fr_repack_q4_K_r8(const void *src, size_t src_row_bytes, void *dst, int n);
void fr_gemm_q4_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride);
/* q6_K_r8.c (repack; portable kernel), x86_avx2_r8.c and x86_avx512_r8.c */
void fr_repack_q6_K_r8(const void *src, size_t src_row_bytes, void *dst, int n);
void fr_gemm_q6_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride);

/* q0_r8.c (repacks; portable kernels) and x86_r8_q0.c (AVX2 and AVX-512
 * VNNI kernels) */
void fr_repack_q4_0_r8(const void *src, size_t src_row_bytes, void *dst, int n);
void fr_repack_q8_0_r8(const void *src, size_t src_row_bytes, void *dst, int n);
void fr_gemm_q4_0_r8_q8_0(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride);
void fr_gemm_q8_0_r8_q8_0(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride);

/* q8_k.c */
void fr_q8_K_to_float(const void *x, float *y, int64_t n);
void fr_q8_K_from_float(const float *x, void *y, int64_t n);

/* iq4.c */
void fr_iq4_nl_to_float(const void *x, float *y, int64_t n);
void fr_iq4_xs_to_float(const void *x, float *y, int64_t n);
void fr_vec_dot_iq4_nl_q8_0(int n, float *s, const void *w, const void *a);
void fr_vec_dot_iq4_xs_q8_K(int n, float *s, const void *w, const void *a);

#endif
