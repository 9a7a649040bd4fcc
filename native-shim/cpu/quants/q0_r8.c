/*
 * q0_r8.c — the repacked Q4_0 and Q8_0 layouts (blocks.h): the repacks and
 * the portable kernels. x86_r8_q0.c replaces the kernels on AVX2 (and
 * AVX-512 VNNI) builds with ones that give the same bits: each sums every
 * 32-column block of a row in exact integers (Q4_0's -8 as 8*sum(a)) and
 * folds it into the row's float accumulator with one fused multiply-add by d_w*d_a (exact:
 * two fp16 significands fit a float's), block by block in column order.
 */
#include <math.h>

#include "kernels.h"

void fr_repack_q4_0_r8(const void *src, size_t src_row_bytes, void *dst, int n) {
  const int nb = n / FR_QK4_0;
  fr_block_q4_0_r8 *restrict out = dst;
  for (int i = 0; i < nb; i++)
    for (int r = 0; r < FR_R8_ROWS; r++) {
      const fr_block_q4_0 *restrict x = (const fr_block_q4_0 *)((const uint8_t *)src + r * src_row_bytes) + i;
      out[i].d[r] = x->d;
      for (int g = 0; g < 4; g++) memcpy(out[i].qs[g][r], x->qs + 4 * g, 4);
    }
}

void fr_repack_q8_0_r8(const void *src, size_t src_row_bytes, void *dst, int n) {
  const int nb = n / FR_QK8_0;
  fr_block_q8_0_r8 *restrict out = dst;
  for (int i = 0; i < nb; i++)
    for (int r = 0; r < FR_R8_ROWS; r++) {
      const fr_block_q8_0 *restrict x = (const fr_block_q8_0 *)((const uint8_t *)src + r * src_row_bytes) + i;
      out[i].d[r] = x->d;
      for (int g = 0; g < 8; g++) memcpy(out[i].qs[g][r], x->qs + 4 * g, 4);
    }
}

#if !FR_QUANTS_AVX2
void fr_gemm_q4_0_r8_q8_0(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  const int nb = n / FR_QK4_0;
  const fr_block_q4_0_r8 *restrict x = w;
  for (int t = 0; t < nt; t++) {
    const fr_block_q8_0 *restrict y = (const fr_block_q8_0 *)((const uint8_t *)act + t * a_stride);
    float acc[FR_R8_ROWS] = {0};
    for (int i = 0; i < nb; i++) {
      int32_t asum = 0;
      for (int j = 0; j < FR_QK8_0; j++) asum += y[i].qs[j];
      const float da = frq_h2f_scale(y[i].d);
      for (int r = 0; r < FR_R8_ROWS; r++) {
        int32_t isum = 0;
        for (int g = 0; g < 4; g++)
          for (int b = 0; b < 4; b++) {
            const uint8_t q = x[i].qs[g][r][b];
            isum += (q & 0x0f) * y[i].qs[4 * g + b] + (q >> 4) * y[i].qs[16 + 4 * g + b];
          }
        acc[r] = fmaf((float)(isum - 8 * asum), frq_h2f_scale(x[i].d[r]) * da, acc[r]);
      }
    }
    for (int r = 0; r < FR_R8_ROWS; r++) s[t * s_stride + r] = acc[r];
  }
}

void fr_gemm_q8_0_r8_q8_0(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  const int nb = n / FR_QK8_0;
  const fr_block_q8_0_r8 *restrict x = w;
  for (int t = 0; t < nt; t++) {
    const fr_block_q8_0 *restrict y = (const fr_block_q8_0 *)((const uint8_t *)act + t * a_stride);
    float acc[FR_R8_ROWS] = {0};
    for (int i = 0; i < nb; i++) {
      const float da = frq_h2f_scale(y[i].d);
      for (int r = 0; r < FR_R8_ROWS; r++) {
        int32_t isum = 0;
        for (int g = 0; g < 8; g++)
          for (int b = 0; b < 4; b++) isum += x[i].qs[g][r][b] * y[i].qs[4 * g + b];
        acc[r] = fmaf((float)isum, frq_h2f_scale(x[i].d[r]) * da, acc[r]);
      }
    }
    for (int r = 0; r < FR_R8_ROWS; r++) s[t * s_stride + r] = acc[r];
  }
}
#endif
