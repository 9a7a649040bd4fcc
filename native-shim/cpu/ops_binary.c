/* ops_binary.c — add_f32 / mul_f32 with b broadcast over rows of a. */
#include "../../metal/ferrum_params.h"
#include "kernel.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_binary_params *p = vp;
  /* a step with no output rows (a prompt chunk before the last) adds nothing */
  if (p->n == 0) return FR_OK;
  if (p->n_b == 0) return fr_bad_params(k, "n_b is 0");
  int32_t rc;
  uint64_t n = (uint64_t)p->n * 4;
  if ((rc = fr_need(k, v, 0, n, 4)) || (rc = fr_need(k, v, 1, (uint64_t)p->n_b * 4, 4)) || (rc = fr_need(k, v, 2, n, 4)))
    return rc;
  return FR_OK;
}

typedef struct task {
  const fr_binary_params *p;
  const float *a, *b;
  float *y;
  int is_mul;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  const uint32_t nb = t->p->n_b;
  uint64_t i0, i1;
  fr_split(t->p->n, ith, nth, &i0, &i1);
  uint64_t j = i0 % nb;
  /* walk b alongside a instead of a modulo per element */
  for (uint64_t i = i0; i < i1;) {
    uint64_t run = nb - j < i1 - i ? nb - j : i1 - i;
    const float *a = t->a + i, *b = t->b + j;
    float *y = t->y + i;
    if (t->is_mul)
      for (uint64_t e = 0; e < run; e++) y[e] = a[e] * b[e];
    else
      for (uint64_t e = 0; e < run; e++) y[e] = a[e] + b[e];
    i += run;
    j = 0;
  }
}

static int32_t run_op(fr_device *dev, const void *vp, const fr_view *v, int is_mul) {
  const fr_binary_params *p = vp;
  if (p->n == 0) return FR_OK;
  task t = {p, (const float *)v[0].ptr, (const float *)v[1].ptr, (float *)v[2].ptr, is_mul};
  fr_parallel(dev, work, &t, p->n);
  return FR_OK;
}

static int32_t run_add(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  return run_op(dev, vp, v, 0);
}

static int32_t run_mul(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  return run_op(dev, vp, v, 1);
}

const fr_kernel_desc fr_op_add_f32 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_binary_params),
    .writes = 1u << 2,
    .binding_names = {"a", "b", "dst"},
    .check = check,
    .run = run_add,
};

const fr_kernel_desc fr_op_mul_f32 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_binary_params),
    .writes = 1u << 2,
    .binding_names = {"a", "b", "dst"},
    .check = check,
    .run = run_mul,
};
