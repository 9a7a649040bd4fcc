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

/* ggml's sum of squares: each square rounded to float, added left to
 * right in double. One long dependency chain: 0.7 us of a 2048-wide decode
 * row on Zen 5, against 0.2 us for sum_sq_lanes. */
static double sum_sq_in_order(const float *x, uint32_t n) {
  double sum = 0.0;
  for (uint32_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
  return sum;
}

/* The same squares added in FR_NORM_LANES interleaved sums (vectorized) */
#define FR_NORM_LANES 32u
static double sum_sq_lanes(const float *x, uint32_t n) {
  double acc[FR_NORM_LANES] = {0};
  /* whole runs through a pointer: with 32-bit indices that may wrap, GCC
   * computes every lane's address on its own */
  const float *p = x, *const end = x + n / FR_NORM_LANES * FR_NORM_LANES;
  for (; p < end; p += FR_NORM_LANES)
    for (size_t j = 0; j < FR_NORM_LANES; j++) acc[j] += (double)(p[j] * p[j]);
  double sum = 0.0;
  for (; p < x + n; p++) sum += (double)(*p * *p);
  for (size_t j = 0; j < FR_NORM_LANES; j++) sum += acc[j];
  return sum;
}

/* float(sum / n) for ggml's in-order sum, without its dependency chain in
 * nearly every row. All terms are >= 0, so either order of adding them is
 * within (n - 1 + n/FR_NORM_LANES + log2(FR_NORM_LANES)) * 2^-53 of the
 * exact sum, relatively (recursive summation's bound), which is less than
 * n * 2^-50 of the lane sum for any n < 2^40. Rounding is monotone, so
 * if both ends of that interval give the same float mean, the in-order sum
 * gives it too; otherwise (a mean within n * 2^-50 of itself from a float
 * rounding boundary, about one 2048-wide row in 2^16; or inf/NaN) the
 * in-order sum is computed. ggml_parity has a row where the two orders
 * round apart. Decode steps alternating with the in-order sum, both ways
 * round (Zen 5): rms_norm 33-43% less time, TinyLlama and Qwen3. */
static float mean_sq(const float *x, uint32_t n) {
  const double s = sum_sq_lanes(x, n);
  const double slack = s * n * 0x1p-50;
  const float lo = (float)((s - slack) / n), hi = (float)((s + slack) / n);
  if (lo == hi) return lo;
  return (float)(sum_sq_in_order(x, n) / n);
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
    const float mean = mean_sq(x, n);
    const float scale = 1.0f / sqrtf(mean + t->p->eps);
    const float *w = t->w;
    for (size_t i = 0; i < n; i++) {
      const float xs = x[i] * scale;
      y[i] = xs * w[i];
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
