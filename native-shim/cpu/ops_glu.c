/*
 * ops_glu.c — swiglu_f32: silu(gate) * up, computed as llama.cpp's CPU
 * backend does (ggml_vec_swiglu_f32 in the AVX2 build): 8 elements at a
 * time through ggml's vectorised expf (ggml_v_expf, an exp2 split with a
 * degree-5 polynomial, ~1.5 ulp), silu(x) = x / (1 + exp(0 - x)); the
 * elements past the last full 8 through libm expf. Bit-exact with ggml
 * when the row length (n_ff) is a multiple of 8, which puts ferrum's flat
 * 8-element groups exactly where ggml's per-row ones are; otherwise rows
 * are split differently and single elements differ by an ulp.
 */
#include <math.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"

#include "vexpf.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_glu_params *p = vp;
  int32_t rc;
  uint64_t n = (uint64_t)p->n * 4;
  if ((rc = fr_need(k, v, 0, n, 4)) || (rc = fr_need(k, v, 1, n, 4)) || (rc = fr_need(k, v, 2, n, 4))) return rc;
  return FR_OK;
}

static inline float fr_swiglu1(float g, float up) { return g / (1.0f + expf(-g)) * up; }

typedef struct task {
  const float *gate, *up;
  float *y;
  uint64_t n;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  /* threads take whole groups of 8 so the groups stay where ggml has them */
  const uint64_t groups = t->n / 8;
  uint64_t g0, g1;
  fr_split(groups, ith, nth, &g0, &g1);
  for (uint64_t i = g0 * 8; i < g1 * 8; i += 8) {
#if FR_VEXPF_AVX2
    const __m256 x = _mm256_loadu_ps(t->gate + i);
    const __m256 s = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), fr_vexpf8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
    _mm256_storeu_ps(t->y + i, _mm256_mul_ps(s, _mm256_loadu_ps(t->up + i)));
#else
    for (uint64_t l = i; l < i + 8; l++) {
      const float x = t->gate[l];
      t->y[l] = x / (1.0f + fr_vexpf(0.0f - x)) * t->up[l];
    }
#endif
  }
  if (ith == nth - 1)
    for (uint64_t i = groups * 8; i < t->n; i++) t->y[i] = fr_swiglu1(t->gate[i], t->up[i]);
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
