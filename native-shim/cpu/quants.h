/*
 * quants.h — ggml block layouts on the CPU: dequantize a row, quantize an
 * activation row to the weight type's dot-product partner, and the dot
 * product itself. The runtime (mul_mat, get_rows, KV store) only sees this
 * table; each type family lives in its own file under quants/.
 *
 * Numerics follow ggml: a weight type W multiplies activations converted to
 * vec_dot_type(W) (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1,
 * Q8_K for K-quants and IQ4_XS, F16 for F16, BF16 for BF16, F32 for F32),
 * so ferrum's logits agree with llama.cpp's to rounding.
 */
#ifndef FERRUM_QUANTS_H
#define FERRUM_QUANTS_H

#include <stdint.h>
#include <stddef.h>

/* ggml type ids (ggml.h), the subset the CPU computes with */
enum fr_ggml_type {
  FR_TYPE_F32 = 0, FR_TYPE_F16 = 1, FR_TYPE_Q4_0 = 2, FR_TYPE_Q4_1 = 3,
  FR_TYPE_Q5_0 = 6, FR_TYPE_Q5_1 = 7, FR_TYPE_Q8_0 = 8, FR_TYPE_Q8_1 = 9,
  FR_TYPE_Q2_K = 10, FR_TYPE_Q3_K = 11, FR_TYPE_Q4_K = 12, FR_TYPE_Q5_K = 13,
  FR_TYPE_Q6_K = 14, FR_TYPE_Q8_K = 15, FR_TYPE_IQ4_NL = 20, FR_TYPE_IQ4_XS = 23,
  FR_TYPE_BF16 = 30,
};

/* y = dequant(x), n a multiple of blck_size */
typedef void (*fr_to_float_fn)(const void *x, float *y, int64_t n);
/* y = quant(x), n a multiple of blck_size: bit-exact with what llama.cpp's CPU backend runs
 * (type_traits_cpu from_float: the x86 SIMD quantizer for Q8_0/Q8_1, which
 * rounds ties to even, not quantize_row_*_ref) */
typedef void (*fr_from_float_fn)(const float *x, void *y, int64_t n);
/* *s = dot(w, a): w one row of this type, a the same row length in vec_dot_type */
typedef void (*fr_vec_dot_fn)(int n, float *s, const void *w, const void *a);

/* s[k*s_stride] = dot(w, a_k) for the four activation rows
 * a_k = a + k*a_stride bytes; bit-identical to four vec_dot calls */
typedef void (*fr_vec_dot4_fn)(int n, float *s, size_t s_stride, const void *w, const void *a, size_t a_stride);
/* s[t*s_stride + r] = dot(w + r*w_stride bytes, a + t*a_stride bytes) for
 * r < 4, t < nt, 1 <= nt <= FR_DOT_TILE_TOKENS */
#define FR_DOT_TILE_TOKENS 6
typedef void (*fr_dot_tile_fn)(int n, int nt, float *s, size_t s_stride, const void *w, size_t w_stride, const void *a,
                               size_t a_stride);
typedef struct fr_type_traits {
  const char *name;       /* ggml's name: "q4_K" */
  int32_t blck_size;      /* elements per block */
  int32_t type_size;      /* bytes per block */
  int32_t vec_dot_type;   /* type the activations are converted to */
  fr_to_float_fn to_float;
  fr_from_float_fn from_float; /* NULL where ferrum never quantizes to this type */
  fr_vec_dot_fn vec_dot;       /* NULL for pure activation types (Q8_1, Q8_K) */
  /* The same dot in the order of llama.cpp's llamafile_sgemm (tinyBLAS),
   * which ggml's mul_mat runs instead of vec_dot for 2 or more tokens when
   * fr_gemm_dot_applies(). NULL where the two orders agree (Q8_0, Q5_0,
   * Q4_0: tinyBLAS_Q0_AVX sums exactly like their AVX2 vec_dot) or where
   * tinyBLAS does not take the type on x86 (K-quants, Q4_1, Q5_1). */
  fr_vec_dot_fn gemm_dot;
  /* tinyBLAS's step (KN): it takes a row length only in multiples of this
   * (8 for its 8-lane AVX2 form; 32 for BF16 in the avx512bf16 build) */
  int32_t gemm_dot_k;
  /* optional: vec_dot for four tokens sharing one weight row (prefill) */
  fr_vec_dot4_fn vec_dot4;
  /* optional: gemm_dot for four consecutive rows x 1..6 tokens (prefill),
   * bit-identical to one gemm_dot call per row and token */
  fr_dot_tile_fn gemm_dot_tile;
  /* optional: the same for eight consecutive rows (s[t*s_stride + r], r < 8),
   * its activations as f32 rows holding vec_dot_type's values (to_float of
   * them: exact), so that the tile converts only the weights */
  fr_dot_tile_fn gemm_dot_tile8;
} fr_type_traits;

/*
 * Repacked weight layouts (quants/blocks.h, e.g. q4_K_r8): FR_R8_ROWS rows
 * of a type interleaved at load for a faster matrix kernel. gemm computes
 * eight rows against nt tokens: s[t*s_stride + r] for r < 8, t < nt, from
 * one block row w and activations act + t*a_stride bytes (vec_dot_type).
 */
#define FR_R8_ROWS 8
typedef void (*fr_repack_fn)(const void *src, size_t src_row_bytes, void *dst, int n);
typedef void (*fr_gemm_r8_fn)(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride);
/* gemm over sixteen rows: the group at w and the next one, group_bytes on
 * (s[t*s_stride + r] for r < 16); the same bits as gemm on each group */
typedef void (*fr_gemm2_r8_fn)(int n, int nt, float *s, size_t s_stride, const void *w, size_t group_bytes,
                               const void *act, size_t a_stride);
typedef struct fr_r8_traits {
  int32_t block_bytes; /* one repacked block: eight rows x one weight block */
  fr_repack_fn repack;
  fr_gemm_r8_fn gemm;
  fr_gemm2_r8_fn gemm2; /* optional, for two tokens or more (prefill); NULL: gemm per group */
} fr_r8_traits;
/* NULL where `type` has no repacked layout */
const fr_r8_traits *fr_get_r8_traits(int32_t type);

/* NULL for a type the CPU cannot compute with */
const fr_type_traits *fr_get_type_traits(int32_t type);

/* 1 when rows of `type` can be dotted with f32 activations: a vec_dot, and a
 * from_float for its vec_dot_type (what mul_mat and mul_mat_id need) */
int fr_type_dot_available(int32_t type);

/* tinyBLAS takes f32/f16/bf16 weights only when rows % 4 == 0 and
 * cols % KN == 0 (else ggml falls back to vec_dot), and never for 1 token */
static inline int fr_gemm_dot_applies(const fr_type_traits *t, uint32_t n_rows, uint32_t n_cols, uint32_t n_tokens) {
  return t->gemm_dot && n_tokens >= 2 && n_rows % 4 == 0 && n_cols % (uint32_t)t->gemm_dot_k == 0;
}

/* half <-> float as ggml rounds them (round-to-nearest-even) */
float fr_fp16_to_fp32(uint16_t h);
uint16_t fr_fp32_to_fp16(float f);
float fr_bf16_to_fp32(uint16_t h);
uint16_t fr_fp32_to_bf16(float f);

#endif
