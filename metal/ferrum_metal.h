// ferrum_metal.h — what every ferrum kernel shares: the params structs
// (ferrum_params.h), GGML block geometry, and element-wise dequantizers.
// Block layouts mirror native-shim/cpu/quants/blocks.h (the C source of truth):
// a row of n_cols elements of a quant type is n_cols/BLK blocks of BYTES each.
// Binding convention for every kernel: [[buffer(0)]] = the op's params struct,
// [[buffer(i+1)]] = the op's binding i (the Swift shim and the emulator agree).
#ifndef FERRUM_METAL_H
#define FERRUM_METAL_H
#include <metal_stdlib>
using namespace metal;
#include "ferrum_params.h"

#define FR_SIMD 32

static inline float fr_h(device const uchar *p) { return (float)*(device const half *)p; }

// 6-bit scale and min j of the 12 packed bytes of q4_K / q5_K
template <typename Q> static inline void fr_scale_min_k4(Q q, uint j, thread float &sc, thread float &mn) {
  if (j < 4) {
    sc = (float)(q[j] & 63); mn = (float)(q[j + 4] & 63);
  } else {
    sc = (float)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    mn = (float)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

constant static float fr_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// One dequantizer per type: element j (< BLK) of the block at b; and the dot
// product of a whole block with BLK floats (specialised for the types models
// mostly use, element by element otherwise).
#define FR_GENERIC_DOT \
  template <typename Y> static float dot(device const uchar *b, Y y) { \
    float s = 0.0f; \
    for (uint j = 0; j < BLK; j++) s += dq(b, j) * y[j]; \
    return s; \
  }
struct fr_f32 { enum { BLK = 1, BYTES = 4 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) { return ((device const float *)b)[j]; } };
struct fr_f16 { enum { BLK = 1, BYTES = 2 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) { return (float)((device const half *)b)[j]; } };
struct fr_bf16 { enum { BLK = 1, BYTES = 2 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) { return as_type<float>((uint)((device const ushort *)b)[j] << 16); } };
struct fr_q4_0 { enum { BLK = 32, BYTES = 18 };
  static float dq(device const uchar *b, uint j) {
    uint q = j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4);
    return fr_h(b) * (float)((int)q - 8); }
  template <typename Y> static float dot(device const uchar *b, Y y) {
    float s = 0.0f;
    for (uint j = 0; j < 16; j++) s += (float)((int)(b[2 + j] & 15) - 8) * y[j] + (float)((int)(b[2 + j] >> 4) - 8) * y[j + 16];
    return fr_h(b) * s;
  }
};
struct fr_q4_1 { enum { BLK = 32, BYTES = 20 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint q = j < 16 ? (b[4 + j] & 15) : (b[4 + j - 16] >> 4);
    return fr_h(b) * (float)q + fr_h(b + 2); } };
struct fr_q5_0 { enum { BLK = 32, BYTES = 22 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint lo = j < 16 ? (b[6 + j] & 15) : (b[6 + j - 16] >> 4);
    uint hb = (b[2 + j / 8] >> (j % 8)) & 1;
    return fr_h(b) * (float)((int)(lo | hb << 4) - 16); } };
struct fr_q5_1 { enum { BLK = 32, BYTES = 24 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint lo = j < 16 ? (b[8 + j] & 15) : (b[8 + j - 16] >> 4);
    uint hb = (b[4 + j / 8] >> (j % 8)) & 1;
    return fr_h(b) * (float)(lo | hb << 4) + fr_h(b + 2); } };
struct fr_q8_0 { enum { BLK = 32, BYTES = 34 };
  static float dq(device const uchar *b, uint j) { return fr_h(b) * (float)((device const char *)b)[2 + j]; }
  template <typename Y> static float dot(device const uchar *b, Y y) {
    device const char *q = (device const char *)(b + 2);
    float s = 0.0f;
    for (uint j = 0; j < 32; j++) s += (float)q[j] * y[j];
    return fr_h(b) * s;
  }
};
struct fr_iq4_nl { enum { BLK = 32, BYTES = 18 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint q = j < 16 ? (b[2 + j] & 15) : (b[2 + j - 16] >> 4);
    return fr_h(b) * fr_kvalues_iq4nl[q]; } };
// q2_K: scales[16] qs[64] d dmin
struct fr_q2_K { enum { BLK = 256, BYTES = 84 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint n = j / 128, w = j % 128, s = w / 32, r = w % 32;
    uint sc = b[8 * n + 2 * s + (r >= 16 ? 1 : 0)];
    float q = (float)((b[16 + 32 * n + r] >> (2 * s)) & 3);
    return fr_h(b + 80) * (float)(sc & 15) * q - fr_h(b + 82) * (float)(sc >> 4); } };
// q3_K: hmask[32] qs[64] scales[12] d; 16 sub-blocks of 16, 6-bit signed (offset 32)
// scales; a set hmask bit adds 4 to the 2-bit quant before the -4 offset
struct fr_q3_K { enum { BLK = 256, BYTES = 110 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint h = j / 128, w = j % 128, jj = w / 32, r = w % 32, g = r / 16, l = r % 16;
    uint k = 8 * h + 2 * jj + g;
    device const uchar *sp = b + 96;
    int slo = k < 8 ? (sp[k] & 15) : (sp[k - 8] >> 4);
    int shi = (sp[8 + (k & 3)] >> (2 * (k >> 2))) & 3;
    float sc = (float)((slo | (shi << 4)) - 32);
    int lo = (b[32 + 32 * h + 16 * g + l] >> (2 * jj)) & 3;
    int hi = (b[16 * g + l] >> (4 * h + jj)) & 1;
    return fr_h(b + 108) * sc * (float)((lo | (hi << 2)) - 4); } };
// q4_K: d dmin scales[12] qs[128]; chunk c of 64: low nibbles = sub-block 2c, high = 2c+1
struct fr_q4_K { enum { BLK = 256, BYTES = 144 };
  static float dq(device const uchar *b, uint j) {
    uint c = j / 64, w = j % 64, hi = w / 32, l = w % 32;
    float sc, mn; fr_scale_min_k4(b + 4, 2 * c + hi, sc, mn);
    uint q = hi ? (b[16 + 32 * c + l] >> 4) : (b[16 + 32 * c + l] & 15);
    return fr_h(b) * sc * (float)q - fr_h(b + 2) * mn; }
  // per 64-element chunk: two sub-blocks sharing qs bytes (low, high nibbles)
  template <typename Y> static float dot(device const uchar *b, Y y) {
    const float d = fr_h(b), dmin = fr_h(b + 2);
    uchar k[12]; // the packed scales, each byte read once
    for (uint j = 0; j < 12; j++) k[j] = b[4 + j];
    float s = 0.0f;
    for (uint c = 0; c < 4; c++) {
      float sc1, mn1, sc2, mn2;
      fr_scale_min_k4(k, 2 * c, sc1, mn1);
      fr_scale_min_k4(k, 2 * c + 1, sc2, mn2);
      device const uchar *q = b + 16 + 32 * c;
      Y y1 = y + 64 * c, y2 = y1 + 32;
      float a1 = 0.0f, a2 = 0.0f, s1 = 0.0f, s2 = 0.0f;
      for (uint l = 0; l < 32; l++) {
        a1 += (float)(q[l] & 15) * y1[l]; s1 += y1[l];
        a2 += (float)(q[l] >> 4) * y2[l]; s2 += y2[l];
      }
      s += d * (sc1 * a1 + sc2 * a2) - dmin * (mn1 * s1 + mn2 * s2);
    }
    return s;
  }
};
// q5_K: d dmin scales[12] qh[32] qs[128]
struct fr_q5_K { enum { BLK = 256, BYTES = 176 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint c = j / 64, w = j % 64, hi = w / 32, l = w % 32;
    float sc, mn; fr_scale_min_k4(b + 4, 2 * c + hi, sc, mn);
    uint lo = hi ? (b[48 + 32 * c + l] >> 4) : (b[48 + 32 * c + l] & 15);
    uint hb = (b[16 + l] >> (2 * c + hi)) & 1;
    return fr_h(b) * sc * (float)(lo + 16 * hb) - fr_h(b + 2) * mn; } };
// q6_K: ql[128] qh[64] scales[16] (int8) d
struct fr_q6_K { enum { BLK = 256, BYTES = 210 };
  static float dq(device const uchar *b, uint j) {
    uint h = j / 128, w = j % 128, g = w / 32, l = w % 32;
    uint ql = b[64 * h + l + (g & 1) * 32];
    uint lo = g >= 2 ? (ql >> 4) : (ql & 15);
    uint hb = (b[128 + 32 * h + l] >> (2 * g)) & 3;
    float sc = (float)((device const char *)b)[192 + 8 * h + l / 16 + 2 * g];
    return (fr_h(b + 208) * sc) * (float)((int)(lo | hb << 4) - 32); }
  // two halves of 128: ql[64], qh[32], 8 scales each; four 32-element groups
  template <typename Y> static float dot(device const uchar *b, Y y) {
    const float d = fr_h(b + 208);
    float scales[16]; // each scale byte read once
    for (uint j = 0; j < 16; j++) scales[j] = (float)((device const char *)b)[192 + j];
    float s = 0.0f;
    for (uint h = 0; h < 2; h++) {
      device const uchar *ql = b + 64 * h, *qh = b + 128 + 32 * h;
      Y yh = y + 128 * h;
      for (uint l = 0; l < 32; l++) {
        const uint g = l / 16;
        const int q0 = (int)((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
        const int q1 = (int)((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
        const int q2 = (int)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        const int q3 = (int)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        s += scales[8 * h + g] * (float)q0 * yh[l] + scales[8 * h + g + 2] * (float)q1 * yh[l + 32] +
             scales[8 * h + g + 4] * (float)q2 * yh[l + 64] + scales[8 * h + g + 6] * (float)q3 * yh[l + 96];
      }
    }
    return d * s;
  }
};
// iq4_xs: d scales_h(u16) scales_l[4] qs[128]; 8 sub-blocks of 32
struct fr_iq4_xs { enum { BLK = 256, BYTES = 136 };
  FR_GENERIC_DOT
  static float dq(device const uchar *b, uint j) {
    uint ib = j / 32, w = j % 32;
    uint sh = (uint)b[2] | ((uint)b[3] << 8);
    int ls = (int)(((b[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (((sh >> (2 * ib)) & 3) << 4));
    uint q = w < 16 ? (b[8 + 16 * ib + w] & 15) : (b[8 + 16 * ib + w - 16] >> 4);
    return fr_h(b) * (float)(ls - 32) * fr_kvalues_iq4nl[q]; } };

#endif
