/*
 * ops_norm.c — rms_norm_f32. Mirrors ggml: sum of squares of float
 * products accumulated in double, scale = 1/sqrtf(mean + eps), then x*scale
 * and *weight as two separate roundings (llama.cpp graphs norm and mul as
 * two ops; its fused form evaluates the same (x*scale)*w).
 */
#include <math.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_rms_norm_params *p = vp;
  if (p->n_cols == 0) return fr_bad_params(k, "n_cols is 0");
  int32_t rc;
  uint64_t n = fr_mul3(p->n_rows, p->n_cols, 4);
  if ((rc = fr_need(k, v, 0, n, 4)) || (rc = fr_need(k, v, 1, (uint64_t)p->n_cols * 4, 4)) ||
      (rc = fr_need(k, v, 2, n, 4)))
    return rc;
  return FR_OK;
}

typedef struct task {
  const fr_rms_norm_params *p;
  const float *x, *w;
  float *y;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  const uint32_t n = t->p->n_cols;
  uint64_t r0, r1;
  fr_split(t->p->n_rows, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++) {
    const float *x = t->x + r * n;
    float *y = t->y + r * n;
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + t->p->eps);
    for (uint32_t i = 0; i < n; i++) {
      const float xs = x[i] * scale;
      y[i] = xs * t->w[i];
    }
  }
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  const fr_rms_norm_params *p = vp;
  task t = {p, (const float *)v[0].ptr, (const float *)v[1].ptr, (float *)v[2].ptr};
  fr_parallel(dev, work, &t, (uint64_t)p->n_rows * p->n_cols);
  return FR_OK;
}

const fr_kernel_desc fr_op_rms_norm_f32 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_rms_norm_params),
    .writes = 1u << 2,
    .binding_names = {"src", "weight", "dst"},
    .check = check,
    .run = run,
};
