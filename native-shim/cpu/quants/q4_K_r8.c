/*
 * q4_K_r8.c — the repacked Q4_K layout (blocks.h): the repack itself and
 * the portable kernel. x86_avx2_r8.c replaces the kernel on AVX2 builds
 * with one that gives the same bits: both sum each super-block in exact
 * integers and fold it into the per-row float accumulators with one fused
 * multiply-add, d*dy first, so only the hardware differs.
 */
#include <math.h>

#include "kernels.h"

void fr_repack_q4_K_r8(const void *src, size_t src_row_bytes, void *dst, int n) {
  const int nb = n / FR_QK_K;
  fr_block_q4_K_r8 *restrict out = dst;
  for (int i = 0; i < nb; i++) {
    fr_block_q4_K_r8 *restrict o = &out[i];
    for (int r = 0; r < FR_R8_ROWS; r++) {
      const fr_block_q4_K *restrict x = (const fr_block_q4_K *)((const uint8_t *)src + r * src_row_bytes) + i;
      o->d[r] = x->d;
      o->dmin[r] = x->dmin;
      for (int c = 0; c < 4; c++) o->sm_hi[c][r] = 0;
      for (int j = 0; j < 8; j++) {
        int32_t sc, mn;
        fr_k4_scale_min(x->scales, j, &sc, &mn);
        o->sm_lo[j][r] = (uint8_t)((sc & 15) | (mn & 15) << 4);
        o->sm_hi[j / 2][r] |= (uint8_t)((sc >> 4) << (2 * (j % 2)) | (mn >> 4) << (4 + 2 * (j % 2)));
      }
      for (int c = 0; c < 4; c++)
        for (int g = 0; g < 8; g++) memcpy(o->qs[c][g][r], x->qs + 32 * c + 4 * g, 4);
    }
  }
}

#if !FR_QUANTS_AVX2
void fr_gemm_q4_K_r8_q8_K(int n, int nt, float *s, size_t s_stride, const void *w, const void *act, size_t a_stride) {
  const int nb = n / FR_QK_K;
  const fr_block_q4_K_r8 *restrict x = w;
  for (int t = 0; t < nt; t++) {
    const fr_block_q8_K *restrict y = (const fr_block_q8_K *)((const uint8_t *)act + t * a_stride);
    float acc[FR_R8_ROWS] = {0}, macc[FR_R8_ROWS] = {0};
    for (int i = 0; i < nb; i++) {
      frq_q4_K_sm sm;
      frq_q4_K_sm_portable(&x[i], &sm);
      int32_t bs32[8];
      for (int j = 0; j < 8; j++) bs32[j] = y[i].bsums[2 * j] + y[i].bsums[2 * j + 1];
      for (int r = 0; r < FR_R8_ROWS; r++) {
        int32_t isum = 0, imin = 0;
        for (int c = 0; c < 4; c++) {
          int32_t lo = 0, hi = 0;
          for (int g = 0; g < 8; g++)
            for (int b = 0; b < 4; b++) {
              const uint8_t q = x[i].qs[c][g][r][b];
              lo += (q & 0x0f) * y[i].qs[64 * c + 4 * g + b];
              hi += (q >> 4) * y[i].qs[64 * c + 32 + 4 * g + b];
            }
          isum += lo * sm.scales[2 * c][r] + hi * sm.scales[2 * c + 1][r];
        }
        for (int j = 0; j < 8; j++) imin += sm.mins[j / 2][r][j % 2] * bs32[j];
        acc[r] = fmaf((float)isum, frq_h2f_scale(x[i].d[r]) * y[i].d, acc[r]);
        macc[r] = fmaf((float)imin, frq_h2f_scale(x[i].dmin[r]) * y[i].d, macc[r]);
      }
    }
    for (int r = 0; r < FR_R8_ROWS; r++) s[t * s_stride + r] = acc[r] - macc[r];
  }
}
#endif
