/*
 * q6_K_r8.c — the repacked Q6_K layout (blocks.h): the repack and the
 * portable kernel, which x86_avx2_r8.c replaces on AVX2 builds with the
 * same bits (exact integer sums per super-block, one fused multiply-add
 * per super-block and row).
 */
#include <math.h>

#include "kernels.h"

void fr_repack_q6_K_r8(const void *src, size_t src_row_bytes, void *dst, int n) {
  const int nb = n / FR_QK_K;
  fr_block_q6_K_r8 *restrict out = dst;
  for (int i = 0; i < nb; i++) {
    fr_block_q6_K_r8 *restrict o = &out[i];
    for (int r = 0; r < FR_R8_ROWS; r++) {
      const fr_block_q6_K *restrict x = (const fr_block_q6_K *)((const uint8_t *)src + r * src_row_bytes) + i;
      o->d[r] = x->d;
      for (int j = 0; j < 16; j++) o->scales[j / 2][r][j % 2] = x->scales[j];
      for (int h = 0; h < 2; h++)
        for (int g = 0; g < 8; g++) {
          memcpy(FR_Q6_R8_QL(*o, h, 0, g)[r], x->ql + 64 * h + 4 * g, 4);
          memcpy(FR_Q6_R8_QL(*o, h, 1, g)[r], x->ql + 64 * h + 32 + 4 * g, 4);
          memcpy(FR_Q6_R8_QH(*o, h, g)[r], x->qh + 32 * h + 4 * g, 4);
        }
    }
  }
}

#if !FR_QUANTS_AVX2
void fr_gemm_q6_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  const int nb = n / FR_QK_K;
  const fr_block_q6_K_r8 *restrict x = w;
  for (int t = 0; t < nt; t++) {
    const fr_block_q8_K *restrict y = (const fr_block_q8_K *)((const uint8_t *)act + t * a_stride);
    float acc[FR_R8_ROWS] = {0};
    for (int i = 0; i < nb; i++)
      for (int r = 0; r < FR_R8_ROWS; r++) {
        int32_t sub[16] = {0};
        for (int h = 0; h < 2; h++)
          for (int g = 0; g < 8; g++)
            for (int b = 0; b < 4; b++) {
              const int l = 4 * g + b, qh = FR_Q6_R8_QH(x[i], h, g)[r][b];
              const int ql0 = FR_Q6_R8_QL(x[i], h, 0, g)[r][b], ql1 = FR_Q6_R8_QL(x[i], h, 1, g)[r][b];
              const int8_t *a = y[i].qs + 128 * h + l;
              const int j = 8 * h + g / 4;
              sub[j + 0] += ((ql0 & 0x0f) | ((qh & 3) << 4)) * a[0];
              sub[j + 2] += ((ql1 & 0x0f) | (((qh >> 2) & 3) << 4)) * a[32];
              sub[j + 4] += ((ql0 >> 4) | (((qh >> 4) & 3) << 4)) * a[64];
              sub[j + 6] += ((ql1 >> 4) | (((qh >> 6) & 3) << 4)) * a[96];
            }
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += x[i].scales[j / 2][r][j % 2] * (sub[j] - 32 * y[i].bsums[j]);
        acc[r] = fmaf((float)isum, frq_h2f_scale(x[i].d[r]) * y[i].d, acc[r]);
      }
    for (int r = 0; r < FR_R8_ROWS; r++) s[t * s_stride + r] = acc[r];
  }
}
#endif
