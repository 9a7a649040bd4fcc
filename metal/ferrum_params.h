/*
 * ferrum_params.h — the params struct of every kernel, shared by the Metal
 * kernels (the .metal files in metal/), the CPU executor (native-shim/cpu) and
 * TypeScript (src/backend/params.ts writes the same layouts; a test compiles
 * this header and compares every sizeof/offsetof).
 *
 * Conventions: all fields are 32-bit so MSL, C and TypeScript agree without
 * padding rules; matrices are row-major with rows of `n_cols` elements
 * (ggml's ne0 is the row length); tokens are rows of activations.
 * Fields marked "dynamic" are patched per replay through fr_patch.
 */
#ifndef FERRUM_PARAMS_H
#define FERRUM_PARAMS_H

#ifdef __METAL_VERSION__
typedef uint fr_u32;
typedef int fr_i32;
typedef ulong fr_u64;
#else
#include <stdint.h>
typedef uint32_t fr_u32;
typedef int32_t fr_i32;
typedef uint64_t fr_u64;
#endif

/* get_rows_<type>: dst[r] = dequant(table[ids[r]])
 * bindings: 0 table (type, n_vocab rows), 1 ids (int32[n_rows]), 2 dst f32[n_rows][n_cols] */
typedef struct fr_get_rows_params {
  fr_u32 n_cols;
  fr_u32 n_rows;     /* dynamic: tokens in this step */
  fr_u32 n_vocab;    /* rows in the table: ids >= n_vocab are an error (clamped + flagged) */
  fr_u32 row_bytes;  /* bytes of one table row */
} fr_get_rows_params;

/* rms_norm_f32: dst[r] = (src[r] * 1/sqrt(mean(src[r]^2) + eps)) * weight
 * bindings: 0 src f32[n_rows][n_cols], 1 weight f32[n_cols], 2 dst */
typedef struct fr_rms_norm_params {
  fr_u32 n_cols;
  fr_u32 n_rows;     /* dynamic (tokens, or tokens*heads for QK-norm) */
  float eps;
  fr_u32 _pad;
} fr_rms_norm_params;

/* add_f32 / mul_f32: dst[i] = a[i] op b[i % n_b]
 * bindings: 0 a f32[n], 1 b f32[n_b], 2 dst f32[n] */
typedef struct fr_binary_params {
  fr_u32 n;          /* dynamic: n_rows * n_b */
  fr_u32 n_b;
} fr_binary_params;

/* rope_f32: rotates the first n_dims of each head of each token, in place
 * allowed (dst may equal src). Position of token t is pos0 + t.
 * mode 0: adjacent pairs (llama); mode 2: halves (neox, qwen2/3).
 * bindings: 0 src f32[n_tokens][n_head*head_dim], 1 dst (same shape) */
typedef struct fr_rope_params {
  fr_u32 head_dim;
  fr_u32 n_dims;
  fr_u32 n_head;
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 pos0;       /* dynamic */
  fr_u32 mode;
  float freq_base;
  float freq_scale;  /* 1 / rope.scaling.factor for linear scaling */
} fr_rope_params;

/* A KV cache is head-major in blocks of FR_KV_BLOCK_ROWS positions:
 * [n_ctx / FR_KV_BLOCK_ROWS][n_head_kv][FR_KV_BLOCK_ROWS][head_dim], the last block
 * holding what is left of n_ctx (so the cache is n_ctx * n_head_kv head rows, as
 * llama.cpp's [n_ctx][n_head_kv][head_dim]). Attention reads one KV head's rows at
 * a time, and in decode from memory a head's rows in runs stream where rows a whole
 * cache row apart do not. Blocks, not one run per head over all of n_ctx: a short
 * conversation then touches the first block's pages, not a page of every head's run
 * (Qwen3-1.7B's 40960-token context: 0.7 GB more resident before the first token).
 * 1024 positions: a block of 8 KV heads of 128 f16 is one 2 MiB page; decode at depth
 * 4096 alike with 256 or 1024 (within 2-3%). A head's row is whole blocks of the type
 * (q8_0: head_dim % 32 == 0). A run of the CPU attention (FR_ATTN_RUN) never straddles
 * two blocks. */
#define FR_KV_BLOCK_ROWS 1024u

/* the head row (from the cache's start, in rows of head_dim) of KV head g at
 * position pos < n_ctx */
static inline fr_u64 fr_kv_row(fr_u32 g, fr_u32 pos, fr_u32 n_head_kv, fr_u32 n_ctx) {
  const fr_u32 b0 = pos / FR_KV_BLOCK_ROWS * FR_KV_BLOCK_ROWS; /* pos's block starts here */
  const fr_u32 rows = n_ctx - b0 < FR_KV_BLOCK_ROWS ? n_ctx - b0 : FR_KV_BLOCK_ROWS;
  return (fr_u64)b0 * n_head_kv + (fr_u64)g * rows + (pos - b0);
}

/* cpy_f32_<kvtype>: KV cache store; rows land at positions pos0..pos0+n_tokens-1
 * bindings: 0 src f32[n_tokens][n_cols], 1 cache (<kvtype>), laid out as above */
typedef struct fr_kv_store_params {
  fr_u32 n_cols;     /* n_head_kv * head_dim */
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 pos0;       /* dynamic */
  fr_u32 n_ctx;      /* rows in the cache: pos0 + n_tokens > n_ctx is an error */
  fr_u32 head_dim;   /* divides n_cols */
  fr_u32 _pad;
} fr_kv_store_params;

/* attn_<kvtype>: causal attention with GQA over the cache, softmax inside.
 * Query t (position pos0+t) attends to cache rows 0..pos0+t.
 * bindings: 0 q f32[n_tokens][n_head*head_dim], 1 k cache, 2 v cache
 * (both laid out as fr_kv_row says, as cpy_f32_<kvtype> writes them), 3 dst
 * f32[n_tokens][n_head*head_dim] */
typedef struct fr_attn_params {
  fr_u32 n_head;
  fr_u32 n_head_kv;
  fr_u32 head_dim;
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 pos0;       /* dynamic */
  fr_u32 n_ctx;
  float scale;       /* 1/sqrt(head_dim) unless the model says otherwise */
  fr_u32 _pad;
} fr_attn_params;

/* soft_max_f32: dst[r] = softmax(src[r] * scale)
 * bindings: 0 src f32[n_rows][n_cols], 1 dst */
typedef struct fr_softmax_params {
  fr_u32 n_cols;
  fr_u32 n_rows;     /* dynamic */
  float scale;
  fr_u32 _pad;
} fr_softmax_params;

/* swiglu_f32: dst[i] = silu(gate[i]) * up[i]
 * bindings: 0 gate f32[n], 1 up f32[n], 2 dst f32[n] */
typedef struct fr_glu_params {
  fr_u32 n;          /* dynamic: n_tokens * n_ff */
  fr_u32 _pad;
} fr_glu_params;

/* mul_mat_<type> (CPU), mul_mv_<type>_f32 / mul_mm_<type>_f32 (Metal):
 * dst[t][r] = dot(W[r], x[t]) for r < n_rows, t < n_tokens.
 * bindings: 0 W (<type>)[n_rows][n_cols], 1 x f32[n_tokens][n_cols],
 * 2 dst f32[n_tokens][n_rows] */
typedef struct fr_mul_mat_params {
  fr_u32 n_cols;
  fr_u32 n_rows;
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 row_bytes;  /* bytes of one row of W */
} fr_mul_mat_params;

/* CPU only. mul_mat_<type>_r8: mul_mat over W repacked by repack_<type>_r8
 * into groups of eight rows (native-shim/cpu/quants/blocks.h); row_bytes
 * is then the repacked bytes per row (block_bytes / 8 per weight block).
 * repack_<type>_r8: dst = src in that layout, n_rows a multiple of 8,
 * row_bytes the source row's; block_bytes must equal the layout's size
 * (TypeScript sizes dst from it). When src views a read-only file mapping
 * its pages are released afterwards (they are read again if used again).
 * bindings: 0 src (<type>)[n_rows][n_cols], 1 dst */
typedef struct fr_repack_params {
  fr_u32 n_cols;
  fr_u32 n_rows;
  fr_u32 row_bytes;
  fr_u32 block_bytes;
} fr_repack_params;

/* moe_route_f32: per token, the n_used largest of probs (the router's
 * softmax) in descending order (ties: lower expert first), their probs as
 * weights, divided by their sum when norm != 0 (sum clamped below at
 * 6.103515625e-5, as llama.cpp does), times scale.
 * bindings: 0 probs f32[n_tokens][n_expert], 1 ids int32[n_tokens][n_used],
 * 2 weights f32[n_tokens][n_used] */
typedef struct fr_moe_route_params {
  fr_u32 n_expert;
  fr_u32 n_used;
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 norm;       /* 1: renormalise the selected weights to sum 1 */
  float scale;       /* expert_weights_scale; 1 when the model has none */
  fr_u32 _pad;
} fr_moe_route_params;

/* mul_mat_id_<type>: the matrix product of the selected experts only,
 * dst[t][s][r] = dot(W[ids[t][s]][r], x_ts) where x_ts is x[t] (x_per_slot 0)
 * or x[t][s] (x_per_slot 1).
 * bindings: 0 W (<type>)[n_expert][n_rows][n_cols], 1 ids int32[n_tokens][n_used],
 * 2 x f32[n_tokens][1 or n_used][n_cols], 3 dst f32[n_tokens][n_used][n_rows] */
typedef struct fr_mul_mat_id_params {
  fr_u32 n_cols;
  fr_u32 n_rows;     /* rows of one expert's matrix */
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 row_bytes;  /* bytes of one row of W */
  fr_u32 n_expert;
  fr_u32 n_used;
  fr_u32 x_per_slot;
  fr_u32 _pad;
} fr_mul_mat_id_params;

/* moe_sum_f32: dst[t] = sum over s of experts[t][s] * weights[t][s], as
 * llama.cpp forms it: each product rounded to f32, then added left to right.
 * bindings: 0 experts f32[n_tokens][n_used][n_cols], 1 weights f32[n_tokens][n_used],
 * 2 dst f32[n_tokens][n_cols] */
typedef struct fr_moe_sum_params {
  fr_u32 n_cols;
  fr_u32 n_used;
  fr_u32 n_tokens;   /* dynamic */
  fr_u32 _pad;
} fr_moe_sum_params;

#endif
