/*
 * ops_rope.c — rope_f32, following ggml's rope cache: theta starts at the
 * position (as float) and is multiplied by theta_scale = base^(-2/n_dims)
 * once per pair, cumulatively in float; cos/sin are taken in float of
 * freq_scale*theta. The rotation is fma(x0, c, -(x1*s)) and
 * fma(x0, s, x1*c): the contraction gcc applies to ggml's x0*c - x1*s in
 * the AVX2 build node-llama-cpp ships (checked bit for bit against it).
 */
#include <math.h>
#include <string.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_rope_params *p = vp;
  if (p->head_dim == 0 || p->n_head == 0) return fr_bad_params(k, "head_dim and n_head must be positive");
  if (p->n_dims == 0 || p->n_dims % 2 || p->n_dims > p->head_dim)
    return fr_bad_params(k, "n_dims %u must be even and in (0, head_dim=%u]", p->n_dims, p->head_dim);
  if (p->mode != 0 && p->mode != 2) return fr_bad_params(k, "mode %u (supported: 0 normal, 2 neox)", p->mode);
  if (!(p->freq_base > 0.0f) || !isfinite(p->freq_base) || !isfinite(p->freq_scale))
    return fr_bad_params(k, "freq_base %g / freq_scale %g", p->freq_base, p->freq_scale);
  int32_t rc;
  uint64_t n = fr_mul3(p->n_tokens, (uint64_t)p->n_head * p->head_dim, 4);
  if ((rc = fr_need(k, v, 0, n, 4)) || (rc = fr_need(k, v, 1, n, 4))) return rc;
  return FR_OK;
}

typedef struct task {
  const fr_rope_params *p;
  const float *src;
  float *dst;
  float *cache; /* n_dims floats per worker */
} task;

static void fill_cache(const fr_rope_params *p, uint32_t pos, float *cache) {
  const float theta_scale = powf(p->freq_base, -2.0f / (float)p->n_dims);
  float theta = (float)pos;
  for (uint32_t i = 0; i < p->n_dims; i += 2) {
    const float t = p->freq_scale * theta;
    cache[i] = cosf(t);
    cache[i + 1] = sinf(t);
    theta *= theta_scale;
  }
}

static void rotate(const fr_rope_params *p, const float *cache, const float *x, float *y) {
  const uint32_t half = p->n_dims / 2;
  for (uint32_t i = 0; i < p->n_dims; i += 2) {
    const float c = cache[i], s = cache[i + 1];
    const uint32_t a = p->mode == 0 ? i : i / 2;
    const uint32_t b = p->mode == 0 ? i + 1 : i / 2 + half;
    const float x0 = x[a], x1 = x[b];
    y[a] = fmaf(x0, c, -(x1 * s));
    y[b] = fmaf(x0, s, x1 * c);
  }
  if (y != x) memcpy(y + p->n_dims, x + p->n_dims, (size_t)(p->head_dim - p->n_dims) * sizeof(float));
}

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  const fr_rope_params *p = t->p;
  float *cache = t->cache + (size_t)ith * p->n_dims;
  uint64_t r0, r1;
  fr_split((uint64_t)p->n_tokens * p->n_head, ith, nth, &r0, &r1);
  uint64_t cached = UINT64_MAX;
  for (uint64_t r = r0; r < r1; r++) {
    const uint64_t tok = r / p->n_head;
    if (tok != cached) {
      fill_cache(p, p->pos0 + (uint32_t)tok, cache);
      cached = tok;
    }
    rotate(p, cache, t->src + r * p->head_dim, t->dst + r * p->head_dim);
  }
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  const fr_rope_params *p = vp;
  float *cache = fr_scratch(dev, (size_t)dev->n_threads * p->n_dims * sizeof(float));
  if (!cache) return FR_E_NOMEM;
  task t = {p, (const float *)v[0].ptr, (float *)v[1].ptr, cache};
  fr_parallel(dev, work, &t, (uint64_t)p->n_tokens * p->n_head * p->head_dim * 8);
  return FR_OK;
}

const fr_kernel_desc fr_op_rope_f32 = {
    .n_bindings = 2,
    .params_size = sizeof(fr_rope_params),
    .writes = 1u << 1,
    .binding_names = {"src", "dst"},
    .check = check,
    .run = run,
};
