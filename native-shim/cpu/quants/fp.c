/*
 * fp.c — the unquantized types: F32, F16, BF16. Their "activation type" is
 * themselves, so from_float is a plain conversion and vec_dot a float dot.
 */
#include "kernels.h"

/* Lanes of independent partial sums: float addition is not associative, so
 * the compiler only vectorises a reduction that is already split like this
 * (16 = two AVX2 / one AVX-512 register). */
#define FR_LANES 16

float fr_fp16_to_fp32(uint16_t h) { return frq_h2f(h); }
uint16_t fr_fp32_to_fp16(float f) { return frq_f2h(f); }
float fr_bf16_to_fp32(uint16_t h) { return frq_bf2f(h); }
uint16_t fr_fp32_to_bf16(float f) { return frq_f2bf(f); }

void fr_f32_to_float(const void *x, float *y, int64_t n) {
  memcpy(y, x, (size_t)n * sizeof(float));
}

void fr_f32_from_float(const float *x, void *y, int64_t n) {
  memcpy(y, x, (size_t)n * sizeof(float));
}

void fr_vec_dot_f32(int n, float *s, const void *w, const void *a) {
  const float *restrict x = w;
  const float *restrict y = a;
  float acc[FR_LANES] = {0};
  int i = 0;
  for (; i + FR_LANES <= n; i += FR_LANES)
    for (int l = 0; l < FR_LANES; l++) acc[l] += x[i + l] * y[i + l];
  double sum = 0.0;
  for (int l = 0; l < FR_LANES; l++) sum += acc[l];
  for (; i < n; i++) sum += (double)x[i] * y[i];
  *s = (float)sum;
}

void fr_f16_to_float(const void *x, float *y, int64_t n) {
  const fr_half *restrict h = x;
  for (int64_t i = 0; i < n; i++) y[i] = frq_h2f(h[i]);
}

void fr_f16_from_float(const float *x, void *y, int64_t n) {
  fr_half *restrict h = y;
  for (int64_t i = 0; i < n; i++) h[i] = frq_f2h(x[i]);
}

void fr_vec_dot_f16(int n, float *s, const void *w, const void *a) {
  const fr_half *restrict x = w;
  const fr_half *restrict y = a;
  float acc[FR_LANES] = {0};
  int i = 0;
  for (; i + FR_LANES <= n; i += FR_LANES)
    for (int l = 0; l < FR_LANES; l++)
      acc[l] += frq_h2f(x[i + l]) * frq_h2f(y[i + l]);
  double sum = 0.0;
  for (int l = 0; l < FR_LANES; l++) sum += acc[l];
  for (; i < n; i++) sum += (double)frq_h2f(x[i]) * frq_h2f(y[i]);
  *s = (float)sum;
}

void fr_bf16_to_float(const void *x, float *y, int64_t n) {
  const uint16_t *restrict h = x;
  for (int64_t i = 0; i < n; i++) y[i] = frq_bf2f(h[i]);
}

void fr_bf16_from_float(const float *x, void *y, int64_t n) {
  uint16_t *restrict h = y;
  for (int64_t i = 0; i < n; i++) h[i] = frq_f2bf(x[i]);
}

void fr_vec_dot_bf16(int n, float *s, const void *w, const void *a) {
  const uint16_t *restrict x = w;
  const uint16_t *restrict y = a;
  float acc[FR_LANES] = {0};
  int i = 0;
  for (; i + FR_LANES <= n; i += FR_LANES)
    for (int l = 0; l < FR_LANES; l++)
      acc[l] += frq_bf2f(x[i + l]) * frq_bf2f(y[i + l]);
  double sum = 0.0;
  for (int l = 0; l < FR_LANES; l++) sum += acc[l];
  for (; i < n; i++) sum += (double)frq_bf2f(x[i]) * frq_bf2f(y[i]);
  *s = (float)sum;
}
