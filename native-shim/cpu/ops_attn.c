/*
 * ops_attn.c — attn_<kvtype>: causal GQA attention over the KV cache, with
 * the route (online or tiled, see attn.h) chosen exactly where ggml's CPU
 * flash attention chooses it, so ferrum's logits track llama.cpp's. The
 * caches are head-major in blocks of positions (fr_kv_row in
 * metal/ferrum_params.h).
 */
#include <math.h>

#include "attn.h"
#include "dispatch.h"
#include "kernel.h"
#include "threadpool.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_attn_params *p = vp;
  if (!p->n_head || !p->n_head_kv || !p->head_dim) return fr_bad_params(k, "n_head, n_head_kv and head_dim must be positive");
  if (p->n_head % p->n_head_kv)
    return fr_bad_params(k, "n_head %u is not a multiple of n_head_kv %u", p->n_head, p->n_head_kv);
  if ((uint64_t)p->pos0 + p->n_tokens > p->n_ctx)
    return fr_bad_params(k, "positions %u..%llu exceed the %u-row cache", p->pos0,
                         (unsigned long long)p->pos0 + p->n_tokens, p->n_ctx);
  if (!isfinite(p->scale)) return fr_bad_params(k, "scale is not finite");
  const uint64_t rb = fr_row_bytes(k->type, (uint64_t)p->n_head_kv * p->head_dim);
  if (!rb || !fr_row_bytes(k->type, p->head_dim))
    return fr_bad_params(k, "head_dim %u is not a whole number of blocks", p->head_dim);
  const uint64_t qb = fr_mul3(p->n_tokens, (uint64_t)p->n_head * p->head_dim, 4);
  const uint32_t kv_align = k->type == FR_TYPE_F32 ? 4 : 2;
  int32_t rc;
  if ((rc = fr_need(k, v, 0, qb, 4)) || (rc = fr_need(k, v, 1, fr_mul3(p->n_ctx, rb, 1), kv_align)) ||
      (rc = fr_need(k, v, 2, fr_mul3(p->n_ctx, rb, 1), kv_align)) || (rc = fr_need(k, v, 3, qb, 4)))
    return rc;
  return FR_OK;
}

/* ggml: tiled only for f16/f32 K and V, >= TILE_Q query rows, and a head
 * size that is a whole number of SIMD registers */
static int use_tiled(int32_t type, const fr_attn_params *p) {
  return type != FR_TYPE_Q8_0 && p->n_tokens >= FR_FA_TILE_Q && p->head_dim % FR_FA_SIMD_WIDTH == 0;
}

static void work_online(void *arg, int ith, int nth) {
  (void)nth;
  fr_attn_ctx *c = arg;
  uint8_t *scratch = c->scratch + (uint64_t)ith * c->scratch_per_thread;
  const uint32_t per_kv = c->p->n_head / c->p->n_head_kv, bundles = c->bundles;
  for (uint64_t u; (u = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed)) < c->units;) {
    const uint32_t t = (uint32_t)(u / ((uint64_t)c->p->n_head_kv * bundles));
    const uint32_t r = (uint32_t)(u % ((uint64_t)c->p->n_head_kv * bundles));
    const uint32_t g = r / bundles, b = r % bundles, h0 = g * per_kv + b * FR_ATTN_HEADS;
    const uint32_t left = per_kv - b * FR_ATTN_HEADS;
    fr_attn_online_heads(c, scratch, t, h0, left < FR_ATTN_HEADS ? left : FR_ATTN_HEADS);
  }
}

static void work_tiled(void *arg, int ith, int nth) {
  (void)nth;
  fr_attn_ctx *c = arg;
  uint8_t *scratch = c->scratch + (uint64_t)ith * c->scratch_per_thread;
  const uint32_t blocks = (c->p->n_tokens + FR_FA_TILE_Q - 1) / FR_FA_TILE_Q;
  for (uint64_t u; (u = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed)) < c->units;) {
    const uint32_t head = (uint32_t)(u / blocks), t0 = (uint32_t)(u % blocks) * FR_FA_TILE_Q;
    const uint32_t rows = c->p->n_tokens - t0 < FR_FA_TILE_Q ? c->p->n_tokens - t0 : FR_FA_TILE_Q;
    fr_attn_tiled_block(c, scratch, head, t0, rows);
  }
}

/* the type whose vec_dot scores K: llama.cpp reads an f32 cache as f16 */
static int32_t dot_type(int32_t kv_type) { return kv_type == FR_TYPE_F32 ? FR_TYPE_F16 : kv_type; }

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  const fr_attn_params *p = vp;
  if (p->n_tokens == 0) return FR_OK;
  const fr_type_traits *kt = fr_get_type_traits(dot_type(k->type));
  fr_attn_ctx c = {
      .p = p,
      .kv_type = k->type,
      .q = (const float *)v[0].ptr,
      .k = v[1].ptr,
      .v = v[2].ptr,
      .dst = (float *)v[3].ptr,
      .row_bytes = fr_row_bytes(k->type, p->head_dim),
      .q_convert = fr_get_type_traits(kt->vec_dot_type)->from_float,
      .kq_dot = kt->vec_dot,
      .v_to_float = kt->to_float,
  };
  const int tiled = use_tiled(k->type, p);
  c.scratch_per_thread = tiled ? fr_attn_tiled_scratch(p->head_dim) : fr_attn_online_scratch(p->head_dim);
  c.scratch = fr_scratch(dev, (size_t)(c.scratch_per_thread * (uint64_t)dev->n_threads));
  if (!c.scratch) return fr_fail_context(FR_E_NOMEM, "%s: ", k->name);
  /* decode steps alternating between one head and four per unit: attention
   * time -2 to -7% (TinyLlama, 8 heads per KV head), -17% (Qwen3, 2) on Zen 5 */
  c.bundles = (p->n_head / p->n_head_kv + FR_ATTN_HEADS - 1) / FR_ATTN_HEADS;
  c.units = tiled ? (uint64_t)p->n_head * ((p->n_tokens + FR_FA_TILE_Q - 1) / FR_FA_TILE_Q)
                  : (uint64_t)p->n_head_kv * c.bundles * p->n_tokens;
  atomic_init(&c.next, 0);
  const uint64_t work = (uint64_t)p->n_head * p->n_tokens * p->head_dim * ((uint64_t)p->pos0 + p->n_tokens);
  fr_parallel(dev, tiled ? work_tiled : work_online, &c, work);
  return FR_OK;
}

static int available(int32_t type) {
  const fr_type_traits *t = fr_get_type_traits(dot_type(type));
  if (!t || !t->vec_dot || !t->to_float) return 0;
  const fr_type_traits *a = fr_get_type_traits(t->vec_dot_type);
  return a && a->from_float;
}

const fr_kernel_desc fr_op_attn = {
    .n_bindings = 4,
    .params_size = sizeof(fr_attn_params),
    .writes = 1u << 3,
    .binding_names = {"q", "k_cache", "v_cache", "dst"},
    .check = check,
    .run = run,
    .available = available,
};

int fr_is_attn(const fr_bound_op *op) { return op->k->run == run; }

int fr_attn_kv_spans(const fr_bound_op *op, uint64_t cap, fr_span *out) {
  const fr_attn_params *p = op->params;
  /* the first KV head's rows of the first block of positions, from the
   * cache's start: the first work unit reads them first */
  const uint64_t rb = fr_row_bytes(op->k->type, p->head_dim);
  uint64_t rows = (uint64_t)p->pos0 + p->n_tokens;
  if (!rb || !rows || rows > p->n_ctx) return 0;
  if (rows > FR_KV_BLOCK_ROWS) rows = FR_KV_BLOCK_ROWS;
  const uint64_t bytes = rows * rb < cap ? rows * rb : cap;
  out[0] = (fr_span){op->views[1].ptr, bytes};
  out[1] = (fr_span){op->views[2].ptr, bytes};
  return 2;
}
