/* ops_glu.c — swiglu_f32: silu(gate) * up, silu(x) = x / (1 + expf(-x)) as in ggml. */
#include <math.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_glu_params *p = vp;
  int32_t rc;
  uint64_t n = (uint64_t)p->n * 4;
  if ((rc = fr_need(k, v, 0, n, 4)) || (rc = fr_need(k, v, 1, n, 4)) || (rc = fr_need(k, v, 2, n, 4))) return rc;
  return FR_OK;
}

typedef struct task {
  const float *gate, *up;
  float *y;
  uint64_t n;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  uint64_t i0, i1;
  fr_split(t->n, ith, nth, &i0, &i1);
  for (uint64_t i = i0; i < i1; i++) {
    const float g = t->gate[i];
    t->y[i] = g / (1.0f + expf(-g)) * t->up[i];
  }
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  (void)k;
  const fr_glu_params *p = vp;
  task t = {(const float *)v[0].ptr, (const float *)v[1].ptr, (float *)v[2].ptr, p->n};
  fr_parallel(dev, work, &t, (uint64_t)p->n * 8);
  return FR_OK;
}

const fr_kernel_desc fr_op_swiglu_f32 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_glu_params),
    .writes = 1u << 2,
    .binding_names = {"gate", "up", "dst"},
    .check = check,
    .run = run,
};
