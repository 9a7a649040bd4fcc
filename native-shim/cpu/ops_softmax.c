/*
 * ops_softmax.c — soft_max_f32 as ggml computes it: w = x*scale, m = max,
 * e = exp(w - m), through ggml's vectorised expf (vexpf.h) for each full
 * group of 8 and libm expf for the rest; the sum of e is formed as ggml's
 * AVX2 build does (float sums of groups of 8 in its horizontal-add order,
 * groups added in double, the tail element by element in double), then
 * every e is multiplied by (float)(1.0/sum).
 */
#include <math.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"
#include "vexpf.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_softmax_params *p = vp;
  if (p->n_cols == 0) return fr_bad_params(k, "n_cols is 0");
  int32_t rc;
  uint64_t n = fr_mul3(p->n_rows, p->n_cols, 4);
  if ((rc = fr_need(k, v, 0, n, 4)) || (rc = fr_need(k, v, 1, n, 4))) return rc;
  return FR_OK;
}

/* sum of 8 floats in the order of a 256-bit horizontal add: halves, then
 * pairs of the 128-bit result */
static inline float hsum8(const float *e) {
  const float a0 = e[0] + e[4], a1 = e[1] + e[5], a2 = e[2] + e[6], a3 = e[3] + e[7];
  return (a0 + a2) + (a1 + a3);
}

static void softmax_row(const float *x, float *y, uint32_t n, float scale) {
  float max = -INFINITY;
  for (uint32_t i = 0; i < n; i++) {
    y[i] = x[i] * scale;
    if (y[i] > max) max = y[i];
  }
  double sum = 0.0;
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
#if FR_VEXPF_AVX2
    _mm256_storeu_ps(y + i, fr_vexpf8(_mm256_sub_ps(_mm256_loadu_ps(y + i), _mm256_set1_ps(max))));
#else
    for (uint32_t j = 0; j < 8; j++) y[i + j] = fr_vexpf(y[i + j] - max);
#endif
    sum += (double)hsum8(y + i);
  }
  for (; i < n; i++) {
    y[i] = expf(y[i] - max);
    sum += (double)y[i];
  }
  const float inv = (float)(1.0 / sum);
  for (uint32_t j = 0; j < n; j++) y[j] *= inv;
}

typedef struct task {
  const fr_softmax_params *p;
  const float *x;
  float *y;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  uint64_t r0, r1;
  fr_split(t->p->n_rows, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++)
    softmax_row(t->x + r * t->p->n_cols, t->y + r * t->p->n_cols, t->p->n_cols, t->p->scale);
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  const fr_softmax_params *p = vp;
  task t = {p, (const float *)v[0].ptr, (float *)v[1].ptr};
  fr_parallel(dev, work, &t, (uint64_t)p->n_rows * p->n_cols * 8);
  return FR_OK;
}

const fr_kernel_desc fr_op_soft_max_f32 = {
    .n_bindings = 2,
    .params_size = sizeof(fr_softmax_params),
    .writes = 1u << 1,
    .binding_names = {"src", "dst"},
    .check = check,
    .run = run,
};
