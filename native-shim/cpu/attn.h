/*
 * attn.h — shared state of one attention op. llama.cpp (node-llama-cpp
 * 3.22.1, flash_attn "auto") runs FLASH_ATTN_EXT on CPU, whose kernel takes
 * one of two numerical routes, and ferrum mirrors both:
 *
 *  - online (attn_online.c): per query row (up to four rows of one KV head
 *    at a time, sharing its loads), Q converted to K's vec_dot_type
 *    (f16, or q8_0), KQ in ggml's f16 dot order (vec_f16.h) or through the
 *    q8_0 traits, online softmax with libm expf, V accumulated in an F16
 *    vector (F16 caches) or in f32 (quantized V). Used for fewer than
 *    FR_FA_TILE_Q query tokens, or quantized caches.
 *  - tiled (attn_tiled.c): 64x64 tiles in plain f32 (Q not rounded, K/V
 *    widened from f16), FMA chains in ascending index order, per-tile
 *    online softmax. Used from FR_FA_TILE_Q tokens on for F16/F32 caches.
 *
 * An F32 cache is rounded to F16 as it is read: llama.cpp casts F32 K/V to
 * F16 before FLASH_ATTN_EXT.
 *
 * Not mirrored: for one query token over >= 512 KV cells (llama.cpp pads
 * its KV length to 256), ggml splits the cells across its threads, each
 * with its own F16 accumulator, merged in f32. That split depends on
 * llama.cpp's thread count, which an op cannot know, so past 256 cached
 * positions in a >= 512-cell context ferrum's decode attention differs
 * from llama.cpp's by F16 rounding (~1e-3 relative).
 */
#ifndef FERRUM_CPU_ATTN_H
#define FERRUM_CPU_ATTN_H

#include <stdatomic.h>
#include <stdint.h>

#include "../../metal/ferrum_params.h"
#include "quants.h"
#include "vec_f16.h"

#define FR_FA_TILE_Q 64u
#define FR_FA_TILE_KV 64u
/* ggml uses the tiled route only when head_dim is a multiple of its f32
 * SIMD width: 8 in the AVX2 build node-llama-cpp loads on x86 here */
#define FR_FA_SIMD_WIDTH 8u

typedef struct fr_attn_ctx {
  const fr_attn_params *p;
  int32_t kv_type;
  const float *q;
  const uint8_t *k, *v;
  float *dst;
  uint64_t row_bytes; /* one KV head's cache row; within a block of FR_KV_BLOCK_ROWS
                        positions the head's next row follows it (fr_kv_row) */
  /* online route */
  fr_from_float_fn q_convert; /* Q -> K's vec_dot_type */
  fr_vec_dot_fn kq_dot;
  fr_to_float_fn v_to_float; /* quantized V only */
  /* work distribution */
  uint8_t *scratch;
  uint64_t scratch_per_thread;
  uint64_t units;
  uint32_t bundles; /* online: units per KV head and token, FR_ATTN_HEADS query heads each (the last fewer) */
  atomic_uint_fast64_t next;
} fr_attn_ctx;

/* KV head g's row at position pos in cache (c->k or c->v) */
static inline const uint8_t *fr_attn_row(const fr_attn_ctx *c, const uint8_t *cache, uint32_t g, uint64_t pos) {
  return cache + fr_kv_row(g, (uint32_t)pos, c->p->n_head_kv, c->p->n_ctx) * c->row_bytes;
}

/* query heads of one KV head that the online route scores together
 * (fr_mad_heads_f16 holds all their accumulators in registers) */
#define FR_ATTN_HEADS FR_MAD_HEADS_MAX
uint64_t fr_attn_online_scratch(uint32_t head_dim);
/* query heads [head0, head0 + n_heads) of one token, all of one KV head;
 * n_heads <= FR_ATTN_HEADS */
void fr_attn_online_heads(const fr_attn_ctx *c, uint8_t *scratch, uint32_t token, uint32_t head0, uint32_t n_heads);

uint64_t fr_attn_tiled_scratch(uint32_t head_dim);
void fr_attn_tiled_block(const fr_attn_ctx *c, uint8_t *scratch, uint32_t head, uint32_t token0, uint32_t n_rows);

/* attention ops in a plan: whether op is one, and the K then the V cache
 * rows of the first KV head it will read first ([0, pos0 + n_tokens) of
 * the first block of positions, at most `cap` bytes of each),
 * which idle workers prefetch before it (fr_pool_prefetch): the number of
 * spans written to out[0..1], 0 when there are none */
struct fr_bound_op;
struct fr_span;
int fr_is_attn(const struct fr_bound_op *op);
int fr_attn_kv_spans(const struct fr_bound_op *op, uint64_t cap, struct fr_span *out);

#endif
