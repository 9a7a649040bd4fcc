/*
 * q8_k.c — Q8_K, the activation format of the K-quants and IQ4_XS: 256
 * int8 quants with a float scale and per-16 sums (bsums), which let a
 * weight's per-sub-block mins be applied as min * bsum.
 *
 * On x86 llama.cpp's CPU backend quantizes activations to Q8_K with the
 * reference quantize_row_q8_K_ref (there is no SIMD version), so this
 * reproduces that one:
 *   - the scale comes from the element of largest magnitude, keeping its
 *     sign (the first such element if several tie): iscale = -127/max, so
 *     that element maps to -127 and the rest land in [-127, 127]
 *   - x*iscale is rounded half to even by adding 1.5*2^23 and reading the
 *     low mantissa bits (ggml's nearest_int), then capped at 127
 *   - d = 1/iscale
 *   - an all-zero block gets d = 0 and zero quants; ggml leaves its bsums
 *     untouched, here they are written as 0.
 */
#include "kernels.h"

void fr_q8_K_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q8_K *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++, y += FR_QK_K) {
    const float d = x[i].d;
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK_K; j++) y[j] = d * (float)x[i].qs[j];
  }
}

/* round half to even for |v| < 2^22: after adding 1.5*2^23 the float's
 * ulp is 1, so the FPU rounds, and the integer sits in the low mantissa
 * bits offset by 2^22. Reproduced as is (rather than rintf) so that even
 * out-of-range inputs give the same bytes as ggml. */
static inline int32_t fr_round_magic(float v) {
  const uint32_t b = frq_f32_bits(v + 12582912.0f);
  return (int32_t)(b & 0x007fffffu) - 0x00400000;
}

void fr_q8_K_from_float(const float *restrict x, void *vy, int64_t n) {
  fr_block_q8_K *restrict y = vy;
  for (int64_t i = 0; i < n / FR_QK_K; i++, x += FR_QK_K) {
    /* |x| compared as sign-cleared bit patterns: same order for non-NaN
     * floats, and integer max/min reductions vectorise */
    uint32_t amax = 0;
    for (int j = 0; j < FR_QK_K; j++) {
      const uint32_t a = frq_f32_bits(x[j]) & 0x7fffffffu;
      amax = a > amax ? a : amax;
    }
    if (amax == 0) {
      memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    int first = FR_QK_K;
    for (int j = 0; j < FR_QK_K; j++) {
      const int hit = (frq_f32_bits(x[j]) & 0x7fffffffu) == amax ? j : FR_QK_K;
      first = hit < first ? hit : first;
    }
    const float iscale = -127.0f / x[first];
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK_K; j++) {
      const int32_t v = fr_round_magic(iscale * x[j]);
      y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int k = 0; k < FR_QK_K / 16; k++) {
      int32_t t = 0;
      for (int l = 0; l < 16; l++) t += y[i].qs[16 * k + l];
      y[i].bsums[k] = (int16_t)t;
    }
    y[i].d = 1.0f / iscale;
  }
}
