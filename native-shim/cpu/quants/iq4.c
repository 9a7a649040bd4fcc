/*
 * iq4.c — the non-linear 4-bit formats IQ4_NL (32-blocks, one fp16 scale,
 * partner Q8_0) and IQ4_XS (256-blocks with 6-bit sub-block scales,
 * partner Q8_K). A nibble indexes a fixed 16-entry codebook of int8 levels
 * rather than being a linear value, so dot products stay integer: the
 * codebook entries are the integers multiplied with the int8 activations.
 */
#include "kernels.h"

/*
 * The codebook (ggml's kvalues_iq4nl), denser near zero where weights
 * concentrate:
 *   q:  0     1    2    3    4    5    6    7   8   9  10  11  12  13  14   15
 *      -127 -104 -83  -65  -49  -35  -22  -10   1  13  25  38  53  69  89  113
 * written as a tree of selects on q's bits rather than a table: a table
 * load per element does not vectorise (there is no byte gather), while
 * selects become blends.
 */
static inline int8_t fr_iq4_level(uint8_t q) {
  /* int8 throughout, so the vectoriser can blend 16 or 32 lanes at once */
  const uint8_t b0 = q & 1, b1 = q & 2, b2 = q & 4, b3 = q & 8;
  const int8_t l0 = b0 ? -104 : -127, l1 = b0 ? -65 : -83, l2 = b0 ? -35 : -49, l3 = b0 ? -10 : -22;
  const int8_t l4 = b0 ? 13 : 1, l5 = b0 ? 38 : 25, l6 = b0 ? 69 : 53, l7 = b0 ? 113 : 89;
  const int8_t m0 = b1 ? l1 : l0, m1 = b1 ? l3 : l2, m2 = b1 ? l5 : l4, m3 = b1 ? l7 : l6;
  const int8_t n0 = b2 ? m1 : m0, n1 = b2 ? m3 : m2;
  return b3 ? n1 : n0;
}

void fr_iq4_nl_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_iq4_nl *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK4_NL; i++, y += FR_QK4_NL) {
    const float d = frq_h2f_scale(x[i].d);
    FR_BLOCK_LOOP
    for (int j = 0; j < FR_QK4_NL / 2; j++) {
      y[j] = d * (float)fr_iq4_level(x[i].qs[j] & 0x0f);
      y[j + FR_QK4_NL / 2] = d * (float)fr_iq4_level(x[i].qs[j] >> 4);
    }
  }
}

/* Weights are decoded to int8 for several 32-groups first and multiplied
 * afterwards: the select tree and the widening dot each vectorise on their
 * own. Decoding each group right before its dot measured slower than not
 * vectorising at all (most likely the fresh narrow stores failing to
 * forward to the wide loads that follow). */
#define FR_IQ4_CHUNK 8 /* 32-groups decoded at a time */

/* groups qs[16g..16g+15] -> w8[32g..32g+31]: element j in the low nibble,
 * element j+16 in the high one */
static inline void fr_iq4_decode(const uint8_t *restrict qs, int8_t *restrict w8) {
  FR_BLOCK_LOOP
  for (int j = 0; j < 16; j++) {
    w8[j] = fr_iq4_level(qs[j] & 0x0f);
    w8[j + 16] = fr_iq4_level(qs[j] >> 4);
  }
}

static inline int32_t fr_dot32(const int8_t *restrict w8, const int8_t *restrict a) {
  int32_t s = 0;
  FR_BLOCK_LOOP
  for (int j = 0; j < 32; j++) s += w8[j] * a[j];
  return s;
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_iq4_nl_q8_0(int n, float *s, const void *w, const void *act) {
  const fr_block_iq4_nl *restrict x = w;
  const fr_block_q8_0 *restrict y = act;
  const int nb = n / FR_QK4_NL;
  float sum = 0.0f;
  for (int i0 = 0; i0 < nb; i0 += FR_IQ4_CHUNK) {
    const int m = nb - i0 < FR_IQ4_CHUNK ? nb - i0 : FR_IQ4_CHUNK;
    int8_t w8[FR_IQ4_CHUNK * 32];
    for (int b = 0; b < m; b++) fr_iq4_decode(x[i0 + b].qs, w8 + 32 * b);
    for (int b = 0; b < m; b++)
      sum += frq_h2f_scale(x[i0 + b].d) * frq_h2f_scale(y[i0 + b].d) * (float)fr_dot32(w8 + 32 * b, y[i0 + b].qs);
  }
  *s = sum;
}
#endif

/* sub-block ib's 6-bit scale: low 4 bits from scales_l (two per byte),
 * high 2 bits from scales_h; stored with an offset of 32 */
static inline int32_t fr_iq4_xs_scale(const fr_block_iq4_xs *restrict b, int ib) {
  const int lo = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f;
  const int hi = (b->scales_h >> (2 * ib)) & 3;
  return (lo | (hi << 4)) - 32;
}

void fr_iq4_xs_to_float(const void *vx, float *restrict y, int64_t n) {
  const fr_block_iq4_xs *restrict x = vx;
  for (int64_t i = 0; i < n / FR_QK_K; i++) {
    const float d = frq_h2f_scale(x[i].d);
    for (int ib = 0; ib < FR_QK_K / 32; ib++, y += 32) {
      const uint8_t *restrict qs = x[i].qs + 16 * ib;
      const float dl = d * (float)fr_iq4_xs_scale(&x[i], ib);
      FR_BLOCK_LOOP
      for (int j = 0; j < 16; j++) {
        y[j] = dl * (float)fr_iq4_level(qs[j] & 0x0f);
        y[j + 16] = dl * (float)fr_iq4_level(qs[j] >> 4);
      }
    }
  }
}

#if !FR_QUANTS_AVX2 /* else x86_avx2.c */
void fr_vec_dot_iq4_xs_q8_K(int n, float *s, const void *w, const void *act) {
  const fr_block_iq4_xs *restrict x = w;
  const fr_block_q8_K *restrict y = act;
  float sum = 0.0f;
  for (int i = 0; i < n / FR_QK_K; i++) {
    int8_t w8[FR_QK_K];
    for (int ib = 0; ib < FR_QK_K / 32; ib++) fr_iq4_decode(x[i].qs + 16 * ib, w8 + 32 * ib);
    int32_t isum = 0;
    for (int ib = 0; ib < FR_QK_K / 32; ib++) isum += fr_iq4_xs_scale(&x[i], ib) * fr_dot32(w8 + 32 * ib, y[i].qs + 32 * ib);
    sum += frq_h2f_scale(x[i].d) * y[i].d * (float)isum;
  }
  *s = sum;
}
#endif
