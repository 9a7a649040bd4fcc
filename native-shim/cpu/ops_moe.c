/*
 * ops_moe.c — the routing half of a mixture-of-experts FFN, as llama.cpp's
 * build_moe_ffn forms it on the CPU:
 *
 * moe_route_f32: per token, ggml_argsort_top_k over the router's softmax
 * (descending; ggml's std::sort leaves exact ties in no particular order,
 * ferrum puts the lower expert first), ggml_get_rows of the selected probs,
 * then (norm) ggml_sum_rows — a double accumulation rounded to f32 —,
 * ggml_clamp at 6.103515625e-5 and ggml_div, then (scale != 1) ggml_scale.
 *
 * moe_sum_f32: ggml_mul of each expert's output by its weight (rounded to
 * f32), then the views added left to right: ((e0*w0 + e1*w1) + e2*w2) ...
 */
#include "../../metal/ferrum_params.h"
#include "kernel.h"

/* --- moe_route_f32 --- */

static int32_t route_check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_moe_route_params *p = vp;
  if (p->n_expert == 0 || p->n_used == 0 || p->n_used > p->n_expert)
    return fr_bad_params(k, "n_used %u must be in 1..n_expert (%u)", p->n_used, p->n_expert);
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_tokens, p->n_expert, 4), 4)) ||
      (rc = fr_need(k, v, 1, fr_mul3(p->n_tokens, p->n_used, 4), 4)) ||
      (rc = fr_need(k, v, 2, fr_mul3(p->n_tokens, p->n_used, 4), 4)))
    return rc;
  return FR_OK;
}

static int32_t route_run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k, (void)dev;
  const fr_moe_route_params *p = vp;
  const float *probs = (const float *)v[0].ptr;
  int32_t *ids = (int32_t *)v[1].ptr;
  float *weights = (float *)v[2].ptr;
  const uint32_t ne = p->n_expert, nu = p->n_used;
  for (uint32_t t = 0; t < p->n_tokens; t++) {
    const float *pr = probs + (uint64_t)t * ne;
    int32_t *id = ids + (uint64_t)t * nu;
    float *w = weights + (uint64_t)t * nu;
    /* insertion into a sorted list of the n_used best: strict > keeps the
     * lower index ahead on ties */
    uint32_t n = 0;
    for (uint32_t e = 0; e < ne; e++) {
      const float x = pr[e];
      if (n == nu && !(x > pr[id[nu - 1]])) continue;
      uint32_t j = n < nu ? n++ : nu - 1;
      while (j > 0 && x > pr[id[j - 1]]) {
        id[j] = id[j - 1];
        j--;
      }
      id[j] = (int32_t)e;
    }
    for (uint32_t s = 0; s < nu; s++) w[s] = pr[id[s]];
    if (p->norm) {
      double sum = 0.0;
      for (uint32_t s = 0; s < nu; s++) sum += (double)w[s];
      float fs = (float)sum;
      if (fs < 6.103515625e-5f) fs = 6.103515625e-5f;
      for (uint32_t s = 0; s < nu; s++) w[s] = w[s] / fs;
    }
    if (p->scale != 0.0f && p->scale != 1.0f)
      for (uint32_t s = 0; s < nu; s++) w[s] = w[s] * p->scale;
  }
  return FR_OK;
}

const fr_kernel_desc fr_op_moe_route_f32 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_moe_route_params),
    .writes = (1u << 1) | (1u << 2),
    .binding_names = {"probs", "ids", "weights"},
    .check = route_check,
    .run = route_run,
};

/* --- moe_sum_f32 --- */

static int32_t sum_check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_moe_sum_params *p = vp;
  if (p->n_used == 0) return fr_bad_params(k, "n_used is 0");
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_tokens, p->n_used, (uint64_t)p->n_cols * 4), 4)) ||
      (rc = fr_need(k, v, 1, fr_mul3(p->n_tokens, p->n_used, 4), 4)) ||
      (rc = fr_need(k, v, 2, fr_mul3(p->n_tokens, p->n_cols, 4), 4)))
    return rc;
  return FR_OK;
}

typedef struct sum_task {
  const fr_moe_sum_params *p;
  const float *experts, *weights;
  float *dst;
} sum_task;

static void sum_work(void *arg, int ith, int nth) {
  const sum_task *t = arg;
  const fr_moe_sum_params *p = t->p;
  uint64_t r0, r1;
  fr_split(p->n_tokens, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++) {
    const float *e = t->experts + r * p->n_used * p->n_cols;
    const float *w = t->weights + r * p->n_used;
    float *d = t->dst + r * p->n_cols;
    const float w0 = w[0];
    for (uint32_t c = 0; c < p->n_cols; c++) d[c] = e[c] * w0;
    for (uint32_t s = 1; s < p->n_used; s++) {
      const float ws = w[s];
      const float *es = e + (uint64_t)s * p->n_cols;
      for (uint32_t c = 0; c < p->n_cols; c++) {
        const float prod = es[c] * ws; /* rounded before the add (no FMA contraction in C11 mode) */
        d[c] = d[c] + prod;
      }
    }
  }
}

static int32_t sum_run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  const fr_moe_sum_params *p = vp;
  sum_task t = {p, (const float *)v[0].ptr, (const float *)v[1].ptr, (float *)v[2].ptr};
  fr_parallel(dev, sum_work, &t, (uint64_t)p->n_tokens * p->n_used * p->n_cols);
  return FR_OK;
}

const fr_kernel_desc fr_op_moe_sum_f32 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_moe_sum_params),
    .writes = 1u << 2,
    .binding_names = {"experts", "weights", "dst"},
    .check = sum_check,
    .run = sum_run,
};
