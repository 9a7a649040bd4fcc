/*
 * q_k.c — the K-quant weight formats Q2_K..Q6_K (256-element super-blocks
 * split into sub-blocks of 16 or 32 with their own small integer scales).
 * Their activation partner is Q8_K (q8_k.c).
 *
 * Dot products keep ggml's factoring: inside a super-block everything is
 * integer, and only the result is multiplied by the float super-block
 * scales d_w*d_a (and dmin_w*d_a times the mins, taken through Q8_K's
 * per-16 bsums so the quants are not touched twice). Each dot first
 * expands the super-block into 256 int16 weights with their sub-block
 * scale already multiplied in, then does one 256-long int16 x int8 sum:
 * one horizontal reduction per super-block instead of one per sub-block,
 * and both loops are plain element-wise loops that vectorise well.
 * This is exact up to the final one or two float roundings per block.
 */
#include "kernels.h"

/* Q3_K packs 16 6-bit scales into 12 bytes: the low nibbles of scales 0-7
 * and 8-15 share bytes 0-7, and bytes 8-11 hold the 2-bit high parts,
 * scale k taking bits 2*(k/4) of byte 8 + k%4. Stored with an offset of 32. */
static inline void fr_q3_K_scales(const uint8_t *restrict p, int32_t out[16]) {
  for (int k = 0; k < 16; k++) {
    const int lo = k < 8 ? (p[k] & 0x0f) : (p[k - 8] >> 4);
    const int hi = (p[8 + (k & 3)] >> (2 * (k >> 2))) & 3;
    out[k] = (lo | (hi << 4)) - 32;
  }
}

/* sum of w[j]*a[j] over one super-block; |w| < 2^12 keeps it within int32 */
static inline int32_t fr_dot256(const int16_t *restrict w, const int8_t *restrict a) {
  int32_t s = 0;
  FR_BLOCK_LOOP
  for (int j = 0; j < FR_QK_K; j++) s += w[j] * a[j];
  return s;
}

/* ------------------------------------------------------------------ Q2_K
 * Element order: for each 128-element half h (qs bytes 32h..32h+31), bit
 * pair j (shift 2j) of those 32 bytes gives elements 128h+32j .. +31, which
 * are two 16-element sub-blocks (scale index 8h+2j and 8h+2j+1).
 */

void fr_q2_K_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q2_K *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++) {
    const float d = frq_h2f_scale(x[i].d);
    const float dmin = frq_h2f_scale(x[i].dmin);
    for (int h = 0; h < 2; h++) {
      const uint8_t *restrict q = x[i].qs + 32 * h;
      for (int j = 0; j < 4; j++) {
        for (int g = 0; g < 2; g++) {
          const uint8_t sc = x[i].scales[8 * h + 2 * j + g];
          const float dl = d * (float)(sc & 0x0f);
          const float ml = dmin * (float)(sc >> 4);
          FR_BLOCK_LOOP
          for (int l = 0; l < 16; l++) y[l] = dl * (float)((q[16 * g + l] >> (2 * j)) & 3) - ml;
          y += 16;
        }
      }
    }
  }
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_q2_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q2_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK_K; i++) {
    const uint8_t *restrict sc = x[i].scales;
    int32_t mins = 0;
    for (int k = 0; k < 16; k++) mins += y[i].bsums[k] * (sc[k] >> 4);
    int16_t wq[FR_QK_K];
    int16_t *restrict o = wq;
    for (int h = 0; h < 2; h++) {
      const uint8_t *restrict q = x[i].qs + 32 * h;
      for (int j = 0; j < 4; j++) {
        for (int g = 0; g < 2; g++, o += 16) {
          const int c = sc[8 * h + 2 * j + g] & 0x0f;
          FR_BLOCK_LOOP
          for (int l = 0; l < 16; l++) o[l] = (int16_t)(c * ((q[16 * g + l] >> (2 * j)) & 3));
        }
      }
    }
    const int32_t isum = fr_dot256(wq, y[i].qs);
    const float dall = y[i].d * frq_h2f_scale(x[i].d);
    const float dmin = y[i].d * frq_h2f_scale(x[i].dmin);
    sum += dall * (float)isum - dmin * (float)mins;
  }
  *s = sum;
}
#endif

/* ------------------------------------------------------------------ Q3_K
 * Same element order as Q2_K; the high bit of element 128h+32j+l (l < 32)
 * is bit 4h+j of hmask[l]. A clear bit means "subtract 4", i.e. the quant
 * is (low2 | high<<2) - 4.
 */

void fr_q3_K_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q3_K *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++) {
    const float d = frq_h2f_scale(x[i].d);
    int32_t scales[16];
    fr_q3_K_scales(x[i].scales, scales);
    const uint8_t *restrict hm = x[i].hmask;
    for (int h = 0; h < 2; h++) {
      const uint8_t *restrict q = x[i].qs + 32 * h;
      for (int j = 0; j < 4; j++) {
        const int bit = 4 * h + j;
        for (int g = 0; g < 2; g++) {
          const float dl = d * (float)scales[8 * h + 2 * j + g];
          FR_BLOCK_LOOP
          for (int l = 0; l < 16; l++) {
            const int lo = (q[16 * g + l] >> (2 * j)) & 3;
            const int hi = (hm[16 * g + l] >> bit) & 1;
            y[l] = dl * (float)((lo | (hi << 2)) - 4);
          }
          y += 16;
        }
      }
    }
  }
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_q3_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q3_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK_K; i++) {
    int32_t scales[16];
    fr_q3_K_scales(x[i].scales, scales);
    const uint8_t *restrict hm = x[i].hmask;
    int16_t wq[FR_QK_K];
    int16_t *restrict o = wq;
    for (int h = 0; h < 2; h++) {
      const uint8_t *restrict q = x[i].qs + 32 * h;
      for (int j = 0; j < 4; j++) {
        const int shift = 2 * j, bit = 4 * h + j;
        for (int g = 0; g < 2; g++, o += 16) {
          const int c = scales[8 * h + 2 * j + g];
          FR_BLOCK_LOOP
          for (int l = 0; l < 16; l++) {
            const int lo = (q[16 * g + l] >> shift) & 3;
            const int hi = (hm[16 * g + l] >> bit) & 1;
            o[l] = (int16_t)(c * ((lo | (hi << 2)) - 4));
          }
        }
      }
    }
    sum += frq_h2f_scale(x[i].d) * y[i].d * (float)fr_dot256(wq, y[i].qs);
  }
  *s = sum;
}
#endif

/* ------------------------------------------------------------------ Q4_K
 * Element order: for each 64-element chunk c (qs bytes 32c..32c+31), the
 * low nibbles are sub-block 2c and the high nibbles sub-block 2c+1.
 */

void fr_q4_K_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q4_K *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++) {
    const float d = frq_h2f_scale(x[i].d);
    const float dmin = frq_h2f_scale(x[i].dmin);
    for (int c = 0; c < 4; c++) {
      const uint8_t *restrict q = x[i].qs + 32 * c;
      int32_t sc, mn;
      fr_k4_scale_min(x[i].scales, 2 * c, &sc, &mn);
      const float d1 = d * (float)sc, m1 = dmin * (float)mn;
      fr_k4_scale_min(x[i].scales, 2 * c + 1, &sc, &mn);
      const float d2 = d * (float)sc, m2 = dmin * (float)mn;
      FR_BLOCK_LOOP
      for (int l = 0; l < 32; l++) y[l] = d1 * (float)(q[l] & 0x0f) - m1;
      FR_BLOCK_LOOP
      for (int l = 0; l < 32; l++) y[32 + l] = d2 * (float)(q[l] >> 4) - m2;
      y += 64;
    }
  }
}

/* the mins term of Q4_K/Q5_K: sum over sub-blocks of min * sum(a) */
static inline int32_t fr_k4_mins_dot(const uint8_t *restrict packed, const int16_t *restrict bsums) {
  int32_t t = 0;
  for (int j = 0; j < 8; j++) {
    int32_t sc, mn;
    fr_k4_scale_min(packed, j, &sc, &mn);
    t += mn * (bsums[2 * j] + bsums[2 * j + 1]);
  }
  return t;
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_q4_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q4_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK_K; i++) {
    int16_t wq[FR_QK_K];
    for (int c = 0; c < 4; c++) {
      const uint8_t *restrict q = x[i].qs + 32 * c;
      int16_t *restrict o = wq + 64 * c;
      int32_t sc0, sc1, mn;
      fr_k4_scale_min(x[i].scales, 2 * c, &sc0, &mn);
      fr_k4_scale_min(x[i].scales, 2 * c + 1, &sc1, &mn);
      FR_BLOCK_LOOP
      for (int l = 0; l < 32; l++) {
        o[l] = (int16_t)(sc0 * (q[l] & 0x0f));
        o[l + 32] = (int16_t)(sc1 * (q[l] >> 4));
      }
    }
    const int32_t isum = fr_dot256(wq, y[i].qs);
    const int32_t mins = fr_k4_mins_dot(x[i].scales, y[i].bsums);
    sum += frq_h2f_scale(x[i].d) * y[i].d * (float)isum - frq_h2f_scale(x[i].dmin) * y[i].d * (float)mins;
  }
  *s = sum;
}
#endif

/* ------------------------------------------------------------------ Q5_K
 * Q4_K plus a 5th bit: element 64c+l has it in bit 2c of qh[l], element
 * 64c+32+l in bit 2c+1.
 */

void fr_q5_K_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q5_K *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++) {
    const float d = frq_h2f_scale(x[i].d);
    const float dmin = frq_h2f_scale(x[i].dmin);
    const uint8_t *restrict qh = x[i].qh;
    for (int c = 0; c < 4; c++) {
      const uint8_t *restrict q = x[i].qs + 32 * c;
      int32_t sc, mn;
      fr_k4_scale_min(x[i].scales, 2 * c, &sc, &mn);
      const float d1 = d * (float)sc, m1 = dmin * (float)mn;
      fr_k4_scale_min(x[i].scales, 2 * c + 1, &sc, &mn);
      const float d2 = d * (float)sc, m2 = dmin * (float)mn;
      FR_BLOCK_LOOP
      for (int l = 0; l < 32; l++)
        y[l] = d1 * (float)((q[l] & 0x0f) | (((qh[l] >> (2 * c)) & 1) << 4)) - m1;
      FR_BLOCK_LOOP
      for (int l = 0; l < 32; l++)
        y[32 + l] = d2 * (float)((q[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) - m2;
      y += 64;
    }
  }
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_q5_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q5_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK_K; i++) {
    const uint8_t *restrict qh = x[i].qh;
    int16_t wq[FR_QK_K];
    for (int c = 0; c < 4; c++) {
      const uint8_t *restrict q = x[i].qs + 32 * c;
      int16_t *restrict o = wq + 64 * c;
      const int b0 = 2 * c, b1 = 2 * c + 1;
      int32_t sc0, sc1, mn;
      fr_k4_scale_min(x[i].scales, b0, &sc0, &mn);
      fr_k4_scale_min(x[i].scales, b1, &sc1, &mn);
      FR_BLOCK_LOOP
      for (int l = 0; l < 32; l++) {
        o[l] = (int16_t)(sc0 * ((q[l] & 0x0f) | (((qh[l] >> b0) & 1) << 4)));
        o[l + 32] = (int16_t)(sc1 * ((q[l] >> 4) | (((qh[l] >> b1) & 1) << 4)));
      }
    }
    const int32_t isum = fr_dot256(wq, y[i].qs);
    const int32_t mins = fr_k4_mins_dot(x[i].scales, y[i].bsums);
    sum += frq_h2f_scale(x[i].d) * y[i].d * (float)isum - frq_h2f_scale(x[i].dmin) * y[i].d * (float)mins;
  }
  *s = sum;
}
#endif

/* ------------------------------------------------------------------ Q6_K
 * Element order: for each 128-element half h (ql bytes 64h.., qh bytes
 * 32h..), l < 32 gives four elements: 128h+l (ql[l] low, qh bits 0-1),
 * +32 (ql[l+32] low, bits 2-3), +64 (ql[l] high, bits 4-5), +96 (ql[l+32]
 * high, bits 6-7). Quants are offset by 32; sub-blocks are 16 long.
 */

static inline int fr_q6(uint8_t lo4, uint8_t hi_byte, int hi_shift) {
  return (int)(lo4 | (((hi_byte >> hi_shift) & 3) << 4)) - 32;
}

void fr_q6_K_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_q6_K *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++) {
    const float d = frq_h2f_scale(x[i].d);
    for (int h = 0; h < 2; h++, y += 128) {
      const uint8_t *restrict ql = x[i].ql + 64 * h;
      const uint8_t *restrict qh = x[i].qh + 32 * h;
      const int8_t *restrict sc = x[i].scales + 8 * h;
      for (int g = 0; g < 2; g++) {
        /* ggml multiplies (d * scale) * q: keep that order */
        const float d0 = d * (float)sc[g], d1 = d * (float)sc[g + 2];
        const float d2 = d * (float)sc[g + 4], d3 = d * (float)sc[g + 6];
        FR_BLOCK_LOOP
        for (int l = 16 * g; l < 16 * g + 16; l++) {
          y[l] = d0 * (float)fr_q6(ql[l] & 0x0f, qh[l], 0);
          y[l + 32] = d1 * (float)fr_q6(ql[l + 32] & 0x0f, qh[l], 2);
          y[l + 64] = d2 * (float)fr_q6(ql[l] >> 4, qh[l], 4);
          y[l + 96] = d3 * (float)fr_q6(ql[l + 32] >> 4, qh[l], 6);
        }
      }
    }
  }
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_q6_K_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_q6_K *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK_K; i++) {
    int16_t wq[FR_QK_K];
    for (int h = 0; h < 2; h++) {
      const uint8_t *restrict ql = x[i].ql + 64 * h;
      const uint8_t *restrict qh = x[i].qh + 32 * h;
      const int8_t *restrict sc = x[i].scales + 8 * h;
      int16_t *restrict o = wq + 128 * h;
      for (int g = 0; g < 2; g++) {
        const int c0 = sc[g], c1 = sc[g + 2], c2 = sc[g + 4], c3 = sc[g + 6];
        FR_BLOCK_LOOP
        for (int l = 16 * g; l < 16 * g + 16; l++) {
          o[l] = (int16_t)(c0 * fr_q6(ql[l] & 0x0f, qh[l], 0));
          o[l + 32] = (int16_t)(c1 * fr_q6(ql[l + 32] & 0x0f, qh[l], 2));
          o[l + 64] = (int16_t)(c2 * fr_q6(ql[l] >> 4, qh[l], 4));
          o[l + 96] = (int16_t)(c3 * fr_q6(ql[l + 32] >> 4, qh[l], 6));
        }
      }
    }
    sum += frq_h2f_scale(x[i].d) * y[i].d * (float)fr_dot256(wq, y[i].qs);
  }
  *s = sum;
}
#endif
