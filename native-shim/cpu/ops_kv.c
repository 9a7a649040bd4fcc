/*
 * ops_kv.c — cpy_f32_<kvtype>: store new K or V rows into the cache at
 * pos0.. . Conversion goes through the type's from_float, the same routine
 * ggml's set_rows uses, so the cached values round exactly as llama.cpp's.
 * The cache is head-major in blocks of positions (fr_kv_row in
 * metal/ferrum_params.h): a token's row of n_head_kv heads lands in
 * n_head_kv places.
 */
#include <string.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"
#include "quants.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_kv_store_params *p = vp;
  uint64_t rb = fr_row_bytes(k->type, p->n_cols);
  if (p->n_cols == 0 || rb == 0) return fr_bad_params(k, "n_cols %u is not a positive whole number of blocks", p->n_cols);
  if (p->head_dim == 0 || p->n_cols % p->head_dim != 0 || fr_row_bytes(k->type, p->head_dim) == 0)
    return fr_bad_params(k, "head_dim %u does not split n_cols %u into heads of whole blocks", p->head_dim, p->n_cols);
  if ((uint64_t)p->pos0 + p->n_tokens > p->n_ctx)
    return fr_bad_params(k, "positions %u..%llu do not fit a %u-row cache", p->pos0,
                         (unsigned long long)p->pos0 + p->n_tokens, p->n_ctx);
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_tokens, p->n_cols, 4), 4)) ||
      (rc = fr_need(k, v, 1, fr_mul3(p->n_ctx, rb, 1), k->type == FR_TYPE_F32 ? 4 : 2)))
    return rc;
  return FR_OK;
}

typedef struct task {
  const fr_kv_store_params *p;
  fr_from_float_fn from_float; /* NULL: f32, plain copy */
  uint64_t head_row_bytes;      /* one head's part of a row */
  const float *src;
  uint8_t *cache;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  const uint32_t n = t->p->n_cols, hd = t->p->head_dim, heads = n / hd;
  uint64_t r0, r1;
  fr_split(t->p->n_tokens, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++)
    for (uint32_t g = 0; g < heads; g++) {
      uint8_t *row = t->cache + fr_kv_row(g, t->p->pos0 + (uint32_t)r, heads, t->p->n_ctx) * t->head_row_bytes;
      const float *x = t->src + r * n + (uint64_t)g * hd;
      if (t->from_float)
        t->from_float(x, row, hd);
      else
        memcpy(row, x, (size_t)hd * sizeof(float));
    }
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  const fr_kv_store_params *p = vp;
  task t = {p, k->type == FR_TYPE_F32 ? NULL : fr_get_type_traits(k->type)->from_float, fr_row_bytes(k->type, p->head_dim),
            (const float *)v[0].ptr, v[1].ptr};
  fr_parallel(dev, work, &t, (uint64_t)p->n_tokens * p->n_cols * 4);
  return FR_OK;
}

static int available(int32_t type) {
  const fr_type_traits *t = fr_get_type_traits(type);
  return t && (type == FR_TYPE_F32 || t->from_float);
}

const fr_kernel_desc fr_op_kv_store = {
    .n_bindings = 2,
    .params_size = sizeof(fr_kv_store_params),
    .writes = 1u << 1,
    .binding_names = {"src", "cache"},
    .check = check,
    .run = run,
    .available = available,
};
