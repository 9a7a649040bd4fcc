/*
 * quants_check.c — checks ferrum's quant kernels (native-shim/cpu/quants)
 * against ggml itself, loaded at run time from node-llama-cpp's prebuilt
 * libraries:
 *
 *   quants_check [-v] <libggml-base.so> <libggml-cpu-VARIANT.so>...
 *
 * Given several CPU libraries it keeps the one ggml's backend loader would
 * pick on this machine: the highest ggml_backend_score() (0 = this CPU
 * lacks a required feature).
 *
 * For every type: weights are quantized with ggml_quantize_chunk, then
 *   to_float    ours == ggml's to_float, bit for bit
 *   from_float  ours == the CPU backend's from_float, byte for byte
 *   vec_dot     ours vs the CPU backend's vec_dot, and ours vs a double
 *               dot of the dequantized operands, both within 1e-5 of
 *               sum|w_i*a_i| (relative to |result| is meaningless when a
 *               dot cancels to ~0)
 * on seeded rows of several lengths and value distributions. Exit status is
 * 0 only if everything passes; the last line is "N passed, N failed".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../native-shim/cpu/quants.h"
#include "../../native-shim/cpu/quants/kernels.h"
#if FR_QUANTS_AVX2
#include "../../native-shim/cpu/quants/r8_prefetch.h"
#endif

/* ---- ggml's public ABI, mirrored from ggml.h / ggml-cpu.h ----
 * Only what is used here. The layouts are checked at run time against
 * facts we know independently (type names, block sizes, vec_dot partners),
 * so a drift in node-llama-cpp's ggml shows up as a failure, not garbage. */
typedef void (*ggml_to_float_t)(const void *x, float *y, int64_t k);
typedef void (*ggml_from_float_t)(const float *x, void *y, int64_t k);
typedef void (*ggml_vec_dot_t)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by,
                               int nrc);

struct ggml_type_traits {
  const char *type_name;
  int64_t blck_size;
  int64_t blck_size_interleave;
  size_t type_size;
  bool is_quantized;
  ggml_to_float_t to_float;
  ggml_from_float_t from_float_ref;
};

struct ggml_type_traits_cpu {
  ggml_from_float_t from_float;
  ggml_vec_dot_t vec_dot;
  int vec_dot_type; /* enum ggml_type */
  int64_t nrows;
};

typedef const struct ggml_type_traits *(*get_traits_fn)(int type);
typedef const struct ggml_type_traits_cpu *(*get_traits_cpu_fn)(int type);
typedef size_t (*quantize_chunk_fn)(int type, const float *src, void *dst, int64_t start, int64_t nrows,
                                    int64_t n_per_row, const float *imatrix);
typedef float (*fp16_to_fp32_fn)(uint16_t);
typedef uint16_t (*fp32_to_fp16_fn)(float);
typedef int (*score_fn)(void);
typedef void (*void_fn)(void);

static get_traits_fn g_traits;
static get_traits_cpu_fn g_traits_cpu;
static quantize_chunk_fn g_quantize_chunk;
static fp16_to_fp32_fn g_fp16_to_fp32;
static fp32_to_fp16_fn g_fp32_to_fp16;
static ggml_to_float_t g_dequant_q8_K;       /* not in ggml's traits table */
static ggml_from_float_t g_q8_0_ref, g_q8_1_ref; /* only for the ref-vs-SIMD note */

static int g_pass, g_fail, g_verbose;

static void result(bool ok, const char *type, const char *what, const char *detail) {
  if (ok) g_pass++;
  else g_fail++;
  printf("%-7s %-11s %s  %s\n", type, what, ok ? "ok  " : "FAIL", detail);
}

/* ---- seeded data ---- */

static uint64_t g_rng;
static uint64_t rnd64(void) { /* splitmix64 */
  uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1p-53; }
static double rnd_normal(void) {
  const double u = rnd_unit() + 0x1p-60, v = rnd_unit();
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

enum { D_NORMAL, D_OUTLIERS, D_ZERO_BLOCKS, D_OFFSET, D_TIES, D_NEAR_TIES, D_TINY, D_LARGE, D_COUNT };
static const char *const dist_names[D_COUNT] = {"normal", "outliers",   "zero-blocks", "offset",
                                                "ties",   "near-ties", "tiny",        "large"};

/* A row of n floats (n a multiple of 256) drawn from distribution d. */
static void fill_row(float *x, int n, int d) {
  for (int i = 0; i < n; i++) {
    double v = rnd_normal();
    switch (d) {
    case D_NORMAL: v *= 0.02; break; /* typical weight scale */
    case D_OUTLIERS: /* activations: a few channels 20-100x the rest */
      if (rnd64() % 200 == 0) v *= 20.0 + 80.0 * rnd_unit();
      break;
    case D_ZERO_BLOCKS: break;
    case D_OFFSET: v = 0.5 + 0.1 * v; break; /* all positive: exercises mins */
    case D_TIES:
      /* multiples of 1/2 up to 126.5 with one +-127 per 32-block, times a
       * power of two: the Q8 multipliers come out as exact powers of two, so
       * x*id hits exact .5 ties (ggml's SIMD and ref quantizers disagree on
       * those) */
      v = (double)((int64_t)(rnd64() % 507) - 253) * 0.5 * 0x1p-4;
      break;
    case D_NEAR_TIES:
      /* the same times 3: now the multiplier is inexact and x*id lands a
       * hair off .5, where rounding the product first (as ggml does) and
       * fusing it into the next add (FMA) give different integers */
      v = (double)((int64_t)(rnd64() % 507) - 253) * 0.5 * 0x1p-4 * 3.0;
      break;
    case D_TINY: v *= 1e-6; break;  /* fp16 scales go subnormal */
    case D_LARGE: v *= 1000.0; break;
    }
    x[i] = (float)v;
  }
  if (d == D_TIES || d == D_NEAR_TIES) { /* the +-127 of every 32-block */
    const float m = d == D_TIES ? 127.0f * 0x1p-4f : 127.0f * 0x1p-4f * 3.0f;
    for (int b = 0; b < n / 32; b++) x[b * 32 + 7] = (rnd64() & 1) ? m : -m;
  }
  if (d == D_ZERO_BLOCKS) {
    for (int b = 0; b < n / 32; b += 3) memset(x + 32 * b, 0, 32 * sizeof(float));
    if (n >= 512) memset(x + 256, 0, 256 * sizeof(float)); /* a whole super-block */
  }
}

static const int lengths[] = {256, 768, 4096, 11008};
#define N_LENGTHS (int)(sizeof lengths / sizeof lengths[0])
#define MAX_N 11008
#define ROWS 2

/* ---- the types under test ---- */

struct tcase {
  int type;
  const char *name;
  bool weight; /* quantizable with ggml_quantize_chunk */
};
static const struct tcase cases[] = {
  {FR_TYPE_F32, "f32", true},        {FR_TYPE_F16, "f16", true},       {FR_TYPE_BF16, "bf16", true},
  {FR_TYPE_Q4_0, "q4_0", true},      {FR_TYPE_Q4_1, "q4_1", true},     {FR_TYPE_Q5_0, "q5_0", true},
  {FR_TYPE_Q5_1, "q5_1", true},      {FR_TYPE_Q8_0, "q8_0", true},     {FR_TYPE_Q8_1, "q8_1", false},
  {FR_TYPE_Q2_K, "q2_K", true},      {FR_TYPE_Q3_K, "q3_K", true},     {FR_TYPE_Q4_K, "q4_K", true},
  {FR_TYPE_Q5_K, "q5_K", true},      {FR_TYPE_Q6_K, "q6_K", true},     {FR_TYPE_Q8_K, "q8_K", false},
  {FR_TYPE_IQ4_NL, "iq4_nl", true},  {FR_TYPE_IQ4_XS, "iq4_xs", true},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static size_t row_bytes(const fr_type_traits *t, int n) { return (size_t)(n / t->blck_size) * (size_t)t->type_size; }

static uint16_t rd16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

/* ---- traits table ---- */

static void check_table(void) {
  char buf[256];
  for (int c = 0; c < N_CASES; c++) {
    const struct tcase *tc = &cases[c];
    const fr_type_traits *ours = fr_get_type_traits(tc->type);
    const struct ggml_type_traits *g = g_traits(tc->type);
    const struct ggml_type_traits_cpu *gc = g_traits_cpu(tc->type);
    bool ok = ours && g && gc && strcmp(ours->name, tc->name) == 0 && strcmp(g->type_name, tc->name) == 0 &&
              ours->blck_size == g->blck_size && (size_t)ours->type_size == g->type_size &&
              ours->to_float != NULL;
    /* activation-only types have no vec_dot partner in ggml-cpu */
    if (ok && tc->weight) ok = ours->vec_dot && gc->vec_dot && gc->nrows == 1 && ours->vec_dot_type == gc->vec_dot_type;
    if (ok && !tc->weight) ok = ours->from_float && gc->from_float && !ours->vec_dot;
    snprintf(buf, sizeof buf, "blck %d, %d bytes, vec_dot_type %d", ours ? ours->blck_size : -1,
             ours ? ours->type_size : -1, ours ? ours->vec_dot_type : -1);
    result(ok, tc->name, "traits", buf);
  }
  /* every other id has no entry */
  int bad = 0;
  for (int id = -2; id < 64; id++) {
    bool ours_known = false;
    for (int c = 0; c < N_CASES; c++) ours_known |= cases[c].type == id;
    if (!ours_known && fr_get_type_traits(id) != NULL) bad++;
  }
  if (fr_get_type_traits(1 << 20) != NULL) bad++;
  snprintf(buf, sizeof buf, "%d unsupported ids answered non-NULL", bad);
  result(bad == 0, "-", "other ids", buf);
}

/* ---- fp16 / bf16 scalar conversions ---- */

static void fill_specials(float *x, int n) {
  /* half ties, half-ulp neighbours, subnormals, overflow, inf, NaN payloads */
  int i = 0;
  for (uint32_t h = 0; i < n && h < 0x10000; h += 37) {
    const float a = g_fp16_to_fp32((uint16_t)h), b = g_fp16_to_fp32((uint16_t)(h + 1));
    if (isfinite(a) && isfinite(b)) {
      x[i++] = (float)(((double)a + (double)b) / 2.0); /* exact tie */
      if (i < n) x[i++] = nextafterf((float)(((double)a + (double)b) / 2.0), INFINITY);
    }
  }
  const uint32_t special[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffbfffffu, 0x7fa5a5a5u,
                              0x477fe000u, 0x477ff000u, 0x477fefffu, 0x47800000u, 0x33000000u, 0x33000001u,
                              0x387fe000u, 0x387ff000u, 0x00000001u, 0x80000000u, 0x7f7fffffu, 0x3f808000u,
                              0x3f818000u, 0x3f80ffffu};
  for (size_t k = 0; k < sizeof special / sizeof special[0] && i < n; k++) memcpy(&x[i++], &special[k], 4);
  while (i < n) {
    const uint32_t u = (uint32_t)rnd64();
    memcpy(&x[i++], &u, 4);
  }
}

static void check_scalar_conversions(void) {
  char buf[256];
  /* fp16 -> fp32 is exact: compare all 65536 inputs with ggml's */
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    const float a = fr_fp16_to_fp32((uint16_t)h), b = g_fp16_to_fp32((uint16_t)h);
    bad += memcmp(&a, &b, 4) != 0;
  }
  snprintf(buf, sizeof buf, "all 65536 halves, %d differ from ggml_fp16_to_fp32", bad);
  result(bad == 0, "fp16", "to fp32", buf);

  /* fp32 -> fp16 / bf16 against the CPU backend's row converters (what
   * runs on activations), on ties, specials and random bit patterns */
  enum { NS = 1 << 20 };
  float *x = malloc(NS * sizeof(float));
  uint16_t *g = malloc(NS * 2), *o = malloc(NS * 2);
  fill_specials(x, NS);
  g_traits_cpu(FR_TYPE_F16)->from_float(x, g, NS);
  int bad_row = 0, bad_scalar = 0, bad_base = 0;
  for (int i = 0; i < NS; i++) {
    bad_scalar += fr_fp32_to_fp16(x[i]) != g[i];
    /* ggml's portable converter writes 0x7e00 for every NaN; else equal */
    if (!isnan(x[i])) bad_base += g_fp32_to_fp16(x[i]) != g[i];
  }
  fr_get_type_traits(FR_TYPE_F16)->from_float(x, o, NS);
  bad_row = memcmp(o, g, NS * 2) != 0;
  snprintf(buf, sizeof buf, "%d inputs: %d scalar / %d row mismatches vs ggml-cpu (F16C); ggml_fp32_to_fp16 vs F16C on non-NaN: %d",
           NS, bad_scalar, bad_row, bad_base);
  result(bad_scalar == 0 && bad_row == 0, "fp16", "from fp32", buf);

  g_traits_cpu(FR_TYPE_BF16)->from_float(x, g, NS);
  fr_get_type_traits(FR_TYPE_BF16)->from_float(x, o, NS);
  bad_scalar = 0;
  for (int i = 0; i < NS; i++) bad_scalar += fr_fp32_to_bf16(x[i]) != g[i];
  bad_row = memcmp(o, g, NS * 2) != 0;
  int bad_back = 0;
  for (int i = 0; i < 0x10000; i++) {
    const float a = fr_bf16_to_fp32((uint16_t)i);
    uint32_t u;
    memcpy(&u, &a, 4);
    bad_back += u != (uint32_t)i << 16;
  }
  snprintf(buf, sizeof buf, "%d inputs: %d scalar / %d row mismatches vs ggml-cpu; bf16->fp32 bad: %d", NS,
           bad_scalar, bad_row, bad_back);
  result(bad_scalar == 0 && bad_row == 0 && bad_back == 0, "bf16", "from fp32", buf);
  free(x);
  free(g);
  free(o);
}

/* ---- per type ---- */

static float *xs, *ys, *deq_ours, *deq_ggml, *deq_act;
static uint8_t *qw, *qa_ours, *qa_ggml;

/* rows for from_float: the distributions plus, for the Q8 formats, blocks
 * whose amax is so small that 127/amax overflows, and infinities */
static void fill_activation_extremes(float *x, int n) {
  fill_row(x, n, D_NORMAL);
  for (int j = 0; j < 32; j++) x[j] = (float)(rnd_normal() * 1e-39); /* subnormal */
  for (int j = 32; j < 64; j++) x[j] = (float)(rnd_normal() * 1e-37);
  x[70] = INFINITY;
  x[100] = -INFINITY;
}

static void check_to_float(const struct tcase *tc, const fr_type_traits *t) {
  char buf[256];
  const struct ggml_type_traits *g = g_traits(tc->type);
  long values = 0, bad = 0;
  for (int li = 0; li < N_LENGTHS; li++) {
    const int n = lengths[li];
    for (int d = 0; d < D_COUNT; d++) {
      for (int r = 0; r < ROWS; r++) fill_row(xs + (size_t)r * n, n, d);
      const size_t rb = row_bytes(t, n);
      if (tc->weight) {
        g_quantize_chunk(tc->type, xs, qw, 0, ROWS, n, NULL);
      } else { /* activation formats: quantized by ggml-cpu */
        for (int r = 0; r < ROWS; r++) g_traits_cpu(tc->type)->from_float(xs + (size_t)r * n, qw + r * rb, n);
      }
      for (int r = 0; r < ROWS; r++) {
        t->to_float(qw + r * rb, deq_ours, n);
        if (tc->type == FR_TYPE_Q8_K) {
          g_dequant_q8_K(qw + r * rb, deq_ggml, n);
        } else if (tc->type == FR_TYPE_Q8_1) {
          /* ggml has no q8_1 dequantizer: fp16(d) * q, rounded once */
          for (int b = 0; b < n / 32; b++) {
            const uint8_t *blk = qw + r * rb + (size_t)b * 36;
            const float dd = g_fp16_to_fp32(rd16(blk));
            for (int j = 0; j < 32; j++) deq_ggml[b * 32 + j] = (float)(int8_t)blk[4 + j] * dd;
          }
        } else if (tc->type == FR_TYPE_F32) { /* ggml has no f32 to_float: a copy */
          memcpy(deq_ggml, qw + r * rb, (size_t)n * sizeof(float));
        } else {
          g->to_float(qw + r * rb, deq_ggml, n);
        }
        for (int i = 0; i < n; i++) bad += memcmp(&deq_ours[i], &deq_ggml[i], 4) != 0;
        values += n;
      }
    }
  }
  snprintf(buf, sizeof buf, "%ld values, %ld not bit-identical to %s", values, bad,
           tc->type == FR_TYPE_Q8_K   ? "dequantize_row_q8_K"
           : tc->type == FR_TYPE_Q8_1 ? "fp16(d)*q"
           : tc->type == FR_TYPE_F32  ? "the input"
                                      : "ggml to_float");
  result(bad == 0, tc->name, "to_float", buf);
}

static void check_from_float(const struct tcase *tc, const fr_type_traits *t) {
  char buf[320];
  const struct ggml_type_traits_cpu *gc = g_traits_cpu(tc->type);
  long rows = 0, bad_rows = 0, bad_bytes = 0;
  long ref_diff = 0, ref_total = 0; /* Q8_0/Q8_1: ggml's own _ref vs SIMD */
  for (int li = 0; li < N_LENGTHS; li++) {
    const int n = lengths[li];
    const size_t rb = row_bytes(t, n);
    for (int d = 0; d <= D_COUNT; d++) {
      if (d == D_COUNT) {
        if (tc->type == FR_TYPE_F16 || tc->type == FR_TYPE_BF16) fill_specials(xs, n);
        else if (tc->type != FR_TYPE_F32) fill_activation_extremes(xs, n);
        else continue;
      } else {
        fill_row(xs, n, d);
      }
      /* same starting bytes in both: ggml leaves Q8_K bsums of an all-zero
       * block unwritten */
      memset(qa_ours, 0, rb);
      memset(qa_ggml, 0, rb);
      t->from_float(xs, qa_ours, n);
      gc->from_float(xs, qa_ggml, n);
      long diff = 0;
      for (size_t i = 0; i < rb; i++) diff += qa_ours[i] != qa_ggml[i];
      rows++;
      bad_rows += diff != 0;
      bad_bytes += diff;
      if (diff && g_verbose) printf("  %s from_float: length %d dist %s: %ld bytes differ\n", tc->name, n,
                                    d == D_COUNT ? "extremes" : dist_names[d], diff);
      ggml_from_float_t ref = tc->type == FR_TYPE_Q8_0 ? g_q8_0_ref : tc->type == FR_TYPE_Q8_1 ? g_q8_1_ref : NULL;
      if (ref && d < D_COUNT) {
        memset(qa_ours, 0, rb);
        ref(xs, qa_ours, n);
        for (size_t i = 0; i < rb; i++) ref_diff += qa_ours[i] != qa_ggml[i];
        ref_total += (long)rb;
      }
    }
  }
  int len = snprintf(buf, sizeof buf, "%ld rows, %ld differ from ggml-cpu from_float (%ld bytes)", rows, bad_rows,
                     bad_bytes);
  if (ref_total)
    snprintf(buf + len, sizeof buf - len, "; note: ggml's quantize_row_%s_ref differs from it in %ld of %ld bytes",
             tc->name, ref_diff, ref_total);
  result(bad_rows == 0, tc->name, "from_float", buf);
}

static void check_vec_dot(const struct tcase *tc, const fr_type_traits *t) {
  char buf[256];
  const struct ggml_type_traits_cpu *gc = g_traits_cpu(tc->type);
  const fr_type_traits *at = fr_get_type_traits(t->vec_dot_type);
  const struct ggml_type_traits_cpu *gac = g_traits_cpu(t->vec_dot_type);
  double max_vs_ggml = 0, max_vs_f64 = 0, max_vs_ggml_abs = 0;
  long dots = 0, bad = 0;
  for (int li = 0; li < N_LENGTHS; li++) {
    const int n = lengths[li];
    const size_t wb = row_bytes(t, n);
    for (int dw = 0; dw < D_COUNT; dw++) {
      for (int r = 0; r < ROWS; r++) fill_row(xs + (size_t)r * n, n, dw);
      g_quantize_chunk(tc->type, xs, qw, 0, ROWS, n, NULL);
      for (int da = 0; da < D_COUNT; da++) {
        fill_row(ys, n, da == D_NORMAL ? D_OUTLIERS : da); /* activations: outliers rather than weight scale */
        gac->from_float(ys, qa_ggml, n);
        at->to_float(qa_ggml, deq_act, n);
        for (int r = 0; r < ROWS; r++) {
          const uint8_t *w = qw + r * wb;
          float s_ours = 0, s_ggml = 0;
          t->vec_dot(n, &s_ours, w, qa_ggml);
          gc->vec_dot(n, &s_ggml, 0, w, 0, qa_ggml, 0, 1);
          t->to_float(w, deq_ours, n);
          double ref = 0, scale = 0;
          for (int i = 0; i < n; i++) {
            ref += (double)deq_ours[i] * deq_act[i];
            scale += fabs((double)deq_ours[i] * deq_act[i]);
          }
          if (t->vec_dot_type == FR_TYPE_Q8_1) {
            /* ggml applies the weight offset m through the activation's
             * s = fp16(d*sum q), not through fp16(d)*sum q: model that */
            const size_t wblk = (size_t)t->type_size;
            for (int b = 0; b < n / 32; b++) {
              const float m = g_fp16_to_fp32(rd16(w + b * wblk + 2));
              const uint8_t *ablk = qa_ggml + (size_t)b * 36;
              const double dd = g_fp16_to_fp32(rd16(ablk)), ss = g_fp16_to_fp32(rd16(ablk + 2));
              long qsum = 0;
              for (int j = 0; j < 32; j++) qsum += (int8_t)ablk[4 + j];
              ref += (double)m * (ss - dd * (double)qsum);
              scale += fabs((double)m * ss);
            }
          }
          const double e_ggml = fabs((double)s_ours - s_ggml), e_ref = fabs((double)s_ours - ref);
          const double tol = 1e-5 * scale;
          const double r_ggml = scale > 0 ? e_ggml / scale : (e_ggml > 0 ? INFINITY : 0);
          const double r_ref = scale > 0 ? e_ref / scale : (e_ref > 0 ? INFINITY : 0);
          if (r_ggml > max_vs_ggml) max_vs_ggml = r_ggml;
          if (r_ref > max_vs_f64) max_vs_f64 = r_ref;
          if (fabs(s_ggml) > 0 && e_ggml / fabs(s_ggml) > max_vs_ggml_abs) max_vs_ggml_abs = e_ggml / fabs(s_ggml);
          const bool ok = e_ggml <= tol && e_ref <= tol && isfinite(s_ours);
          if (!ok) {
            bad++;
            if (g_verbose || bad <= 3)
              printf("  %s vec_dot n=%d w=%s a=%s: ours %.9g ggml %.9g f64 %.9g (sum|wa| %.3g)\n", tc->name, n,
                     dist_names[dw], dist_names[da], s_ours, s_ggml, ref, scale);
          }
          dots++;
        }
      }
    }
  }
  snprintf(buf, sizeof buf, "%ld dots; max err/sum|wa|: %.2e vs ggml-cpu, %.2e vs f64 (max err/|ggml|: %.2e)", dots,
           max_vs_ggml, max_vs_f64, max_vs_ggml_abs);
  result(bad == 0, tc->name, "vec_dot", buf);
}

/* gemm_dot's register tiles (4 or 8 rows x 1..6 tokens) must equal one
 * gemm_dot per row and token bit for bit, at the row lengths tinyBLAS takes
 * (multiples of gemm_dot_k) */
static void check_gemm_dot_tile(const struct tcase *tc, const fr_type_traits *t, fr_dot_tile_fn tile_fn, int rows,
                                int widened, const char *what) {
  char buf[256];
  const fr_type_traits *at = fr_get_type_traits(t->vec_dot_type);
  const int stride = rows + 1; /* one spare column: a tile must not write it */
  long dots = 0, bad = 0;
  for (int li = 0; li < N_LENGTHS; li++) {
    const int n = lengths[li];
    if (n % t->gemm_dot_k) continue;
    const size_t wb = row_bytes(t, n), ab = row_bytes(at, n);
    for (int d = 0; d < D_COUNT; d++) {
      for (int r = 0; r < rows; r++) fill_row(xs + (size_t)r * n, n, (d + r) % D_COUNT);
      g_quantize_chunk(tc->type, xs, qw, 0, rows, n, NULL);
      for (int k = 0; k < FR_DOT_TILE_TOKENS; k++) {
        fill_row(ys, n, (d + k + 1) % D_COUNT);
        at->from_float(ys, qa_ours + k * ab, n);
      }
      for (int nt = 1; nt <= FR_DOT_TILE_TOKENS; nt++) {
        float tile[FR_DOT_TILE_TOKENS * 9], one;
        for (int i = 0; i < FR_DOT_TILE_TOKENS * stride; i++) tile[i] = NAN;
        if (widened) /* tile8 reads the activations' values as f32 rows */
          for (int k = 0; k < nt; k++) at->to_float(qa_ours + k * ab, deq_act + (size_t)k * n, n);
        tile_fn(n, nt, tile, stride, qw, wb, widened ? (const void *)deq_act : qa_ours, widened ? n * sizeof(float) : ab);
        for (int k = 0; k < FR_DOT_TILE_TOKENS; k++) {
          if (!isnan(tile[stride * k + rows]) && bad++ < 3) printf("  %s %s wrote past row %d\n", tc->name, what, rows);
          for (int r = 0; r < rows && k < nt; r++, dots++) {
            t->gemm_dot(n, &one, qw + r * wb, qa_ours + k * ab);
            if (memcmp(&one, &tile[stride * k + r], sizeof one) != 0 && bad++ < 3)
              printf("  %s %s n=%d nt=%d row %d token %d: %.9g, gemm_dot %.9g\n", tc->name, what, n, nt, r, k,
                     tile[stride * k + r], one);
          }
          if (k >= nt && !isnan(tile[stride * k]) && bad++ < 3) printf("  %s %s nt=%d wrote token %d\n", tc->name, what, nt, k);
        }
      }
    }
  }
  snprintf(buf, sizeof buf, "%ld dots equal to gemm_dot bit for bit", dots);
  result(bad == 0 && dots > 0, tc->name, what, buf);
}

/* the four-token dot must equal four single dots bit for bit: mul_mat mixes
 * the two freely within one matrix */
static void check_vec_dot4(const struct tcase *tc, const fr_type_traits *t) {
  char buf[256];
  const fr_type_traits *at = fr_get_type_traits(t->vec_dot_type);
  long dots = 0, bad = 0;
  for (int li = 0; li < N_LENGTHS; li++) {
    const int n = lengths[li];
    const size_t wb = row_bytes(t, n), ab = row_bytes(at, n);
    for (int d = 0; d < D_COUNT; d++) {
      for (int r = 0; r < ROWS; r++) fill_row(xs + (size_t)r * n, n, d);
      g_quantize_chunk(tc->type, xs, qw, 0, ROWS, n, NULL);
      for (int k = 0; k < 4; k++) {
        fill_row(ys, n, (d + k) % D_COUNT);
        at->from_float(ys, qa_ours + k * ab, n);
      }
      for (int r = 0; r < ROWS; r++) {
        float four[4 * 3], one;
        t->vec_dot4(n, four, 3, qw + r * wb, qa_ours, ab);
        for (int k = 0; k < 4; k++, dots++) {
          t->vec_dot(n, &one, qw + r * wb, qa_ours + k * ab);
          if (memcmp(&one, &four[3 * k], sizeof one) != 0 && bad++ < 3)
            printf("  %s vec_dot4 n=%d token %d: %.9g, vec_dot %.9g\n", tc->name, n, k, four[3 * k], one);
        }
      }
    }
  }
  snprintf(buf, sizeof buf, "%ld dots equal to vec_dot bit for bit", dots);
  result(bad == 0, tc->name, "vec_dot4", buf);
}

/* repacked layouts: eight rows by 1..5 tokens from one repacked group must
 * be each row's dot product to the vec_dot tolerance (the float order
 * differs), every output must be written, and the outputs' bits are hashed
 * so the test can require the AVX2 and portable builds to agree exactly */
static void check_r8(const struct tcase *tc, const fr_type_traits *t, const fr_r8_traits *r8) {
  char buf[256];
  const fr_type_traits *at = fr_get_type_traits(t->vec_dot_type);
  long dots = 0, bad = 0;
  uint64_t hash = 0xcbf29ce484222325u;
  for (int li = 0; li < N_LENGTHS; li++) {
    const int n = lengths[li];
    const size_t wb = row_bytes(t, n), ab = row_bytes(at, n);
    const size_t rb = (size_t)(n / t->blck_size) * (size_t)r8->block_bytes;
    for (int d = 0; d < D_COUNT; d++) {
      for (int r = 0; r < FR_R8_ROWS; r++) fill_row(xs + (size_t)r * n, n, (d + r) % D_COUNT);
      g_quantize_chunk(tc->type, xs, qw, 0, FR_R8_ROWS, n, NULL);
      uint8_t *packed = malloc(rb);
      r8->repack(qw, wb, packed, n);
      for (int k = 0; k < 5; k++) {
        fill_row(ys, n, (d + k) % D_COUNT == D_NORMAL ? D_OUTLIERS : (d + k) % D_COUNT);
        at->from_float(ys, qa_ours + k * ab, n);
      }
      for (int nt = 1; nt <= 5; nt++) {
        float out[5 * 9];
        for (int i = 0; i < 5 * 9; i++) out[i] = NAN;
        r8->gemm(n, nt, out, 9, packed, qa_ours, ab);
#if FR_QUANTS_AVX2
        /* the other CPU's prefetch pattern (r8_prefetch.h) must give the same bits */
        float other[5 * 9];
        for (int i = 0; i < 5 * 9; i++) other[i] = NAN;
        fr_r8_pf_zen4 = !fr_r8_pf_zen4;
        r8->gemm(n, nt, other, 9, packed, qa_ours, ab);
        fr_r8_pf_zen4 = !fr_r8_pf_zen4;
        if (memcmp(out, other, sizeof out) && bad++ < 3)
          printf("  %s r8 n=%d nt=%d: prefetch patterns differ in bits\n", tc->name, n, nt);
#endif
        for (int k = 0; k < nt; k++)
          for (int r = 0; r < FR_R8_ROWS; r++, dots++) {
            float one;
            t->vec_dot(n, &one, qw + r * wb, qa_ours + k * ab);
            t->to_float(qw + r * wb, deq_ours, n);
            at->to_float(qa_ours + k * ab, deq_act, n);
            double scale = 0;
            for (int i = 0; i < n; i++) scale += fabs((double)deq_ours[i] * deq_act[i]);
            const float got = out[9 * k + r];
            if (!(fabs((double)got - one) <= 1e-5 * scale) && bad++ < 3)
              printf("  %s r8 n=%d nt=%d token %d row %d: %.9g, vec_dot %.9g (sum|wa| %.3g)\n", tc->name, n, nt, k, r,
                     got, one, scale);
          }
        for (int k = 0; k < nt; k++)
          if (!isnan(out[9 * k + 8]) && bad++ < 3) printf("  %s r8: wrote past row 8\n", tc->name);
      }
      free(packed);
    }
  }
  snprintf(buf, sizeof buf, "%ld dots within 1e-5 sum|wa| of vec_dot", dots);
  result(bad == 0, tc->name, "r8 gemm", buf);

  /* Bits: inputs made without float math (the generator above rounds
   * differently per build): random quant bytes with in-range fp16 scales
   * at each type's scale offsets, integer activations quantized exactly. */
  /* byte offsets of the fp16 scales inside one block of the type */
  static const struct { int32_t type; int n; int off[2]; } halves[] = {
      {FR_TYPE_Q4_K, 2, {0, 2}}, {FR_TYPE_Q6_K, 1, {208}}, {FR_TYPE_Q4_0, 1, {0}}, {FR_TYPE_Q8_0, 1, {0}}};
  int hi = -1;
  for (int i = 0; i < (int)(sizeof halves / sizeof halves[0]); i++)
    if (halves[i].type == tc->type) hi = i;
  if (hi < 0) {
    result(false, tc->name, "r8 bits", "no fp16 scale offsets for this type in check_r8");
    return;
  }
  g_rng = 0x5eedb175; /* the draws above depend on float rounding */
  const int n = 4096;
  const size_t wb = row_bytes(t, n), ab = row_bytes(at, n);
  uint8_t *packed = malloc((size_t)(n / t->blck_size) * (size_t)r8->block_bytes);
  for (size_t i = 0; i < FR_R8_ROWS * wb; i++) qw[i] = (uint8_t)rnd64();
  for (size_t b = 0; b < FR_R8_ROWS * wb / (size_t)t->type_size; b++)
    for (int k = 0; k < halves[hi].n; k++) {
      const uint16_t d = (uint16_t)(0x1800 + (rnd64() & 0x0fff));
      memcpy(qw + b * (size_t)t->type_size + halves[hi].off[k], &d, 2);
    }
  r8->repack(qw, wb, packed, n);
  for (int k = 0; k < 5; k++) {
    for (int i = 0; i < n; i++) ys[i] = (float)((int)(rnd64() % 255) - 127) * (float)(1 + k);
    at->from_float(ys, qa_ours + k * ab, n);
  }
  for (int nt = 1; nt <= 5; nt++) {
    float out[5 * 8];
    r8->gemm(n, nt, out, 8, packed, qa_ours, ab);
    for (int i = 0; i < nt * 8; i++) {
      uint32_t bits;
      memcpy(&bits, &out[i], sizeof bits);
      hash = (hash ^ bits) * 0x100000001b3u;
    }
  }
  /* the sixteen-row kernel (AVX-512 builds): lanes 0-7 are group A, lanes
   * 8-15 group B, each the bits gemm gives for its group alone */
  if (r8->gemm2) {
    const size_t gb = (size_t)(n / t->blck_size) * (size_t)r8->block_bytes;
    uint8_t *pair = malloc(2 * gb);
    memcpy(pair, packed, gb);
    /* B: other quants, the same in-range fp16 scales */
    for (size_t i = 0; i < FR_R8_ROWS * wb; i++) {
      const int off = (int)(i % (size_t)t->type_size);
      bool scale = false;
      for (int k = 0; k < halves[hi].n; k++) scale |= off == halves[hi].off[k] || off == halves[hi].off[k] + 1;
      if (!scale) qw[i] ^= (uint8_t)rnd64();
    }
    r8->repack(qw, wb, pair + gb, n);
    long bad2 = 0;
    for (int nt = 1; nt <= 5; nt++) {
      float two[5 * 17], one[5 * 8];
      for (int i = 0; i < 5 * 17; i++) two[i] = NAN;
      r8->gemm2(n, nt, two, 17, pair, gb, qa_ours, ab);
      for (int g = 0; g < 2; g++) {
        r8->gemm(n, nt, one, 8, pair + g * gb, qa_ours, ab);
        for (int k = 0; k < nt; k++)
          for (int r = 0; r < FR_R8_ROWS; r++)
            if (memcmp(&two[17 * k + 8 * g + r], &one[8 * k + r], 4) && bad2++ < 3)
              printf("  %s gemm2 nt=%d token %d row %d: %.9g, gemm %.9g\n", tc->name, nt, k, 8 * g + r,
                     two[17 * k + 8 * g + r], one[8 * k + r]);
      }
      for (int k = 0; k < nt; k++)
        if (!isnan(two[17 * k + 16]) && bad2++ < 3) printf("  %s gemm2: wrote past row 16\n", tc->name);
    }
    free(pair);
    snprintf(buf, sizeof buf, "two groups x 1..5 tokens, bit for bit");
    result(bad2 == 0, tc->name, "r8 gemm2", buf);
    printf("r8-gemm2 %s\n", tc->name);
  }
  free(packed);
  printf("r8 %s bits %016llx\n", tc->name, (unsigned long long)hash);
}

/* ---- loading ggml ---- */

static void *sym(void *lib, const char *name, const char *path) {
  void *p = dlsym(lib, name);
  if (!p) {
    fprintf(stderr, "quants_check: %s has no symbol %s\n", path, name);
    exit(2);
  }
  return p;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* keep lines in order with stderr, even on a crash */
  int a = 1;
  if (a < argc && strcmp(argv[a], "-v") == 0) g_verbose = 1, a++;
  if (argc - a < 2) {
    fprintf(stderr, "usage: %s [-v] <libggml-base.so> <libggml-cpu-VARIANT.so>...\n", argv[0]);
    return 2;
  }
  const char *base_path = argv[a++];
  void *base = dlopen(base_path, RTLD_NOW | RTLD_GLOBAL);
  if (!base) {
    fprintf(stderr, "quants_check: %s\n", dlerror());
    return 2;
  }
  g_traits = (get_traits_fn)sym(base, "ggml_get_type_traits", base_path);
  g_quantize_chunk = (quantize_chunk_fn)sym(base, "ggml_quantize_chunk", base_path);
  g_fp16_to_fp32 = (fp16_to_fp32_fn)sym(base, "ggml_fp16_to_fp32", base_path);
  g_fp32_to_fp16 = (fp32_to_fp16_fn)sym(base, "ggml_fp32_to_fp16", base_path);
  g_dequant_q8_K = (ggml_to_float_t)sym(base, "dequantize_row_q8_K", base_path);
  g_q8_0_ref = (ggml_from_float_t)sym(base, "quantize_row_q8_0_ref", base_path);
  g_q8_1_ref = (ggml_from_float_t)sym(base, "quantize_row_q8_1_ref", base_path);

  /* the variant ggml's loader would choose: highest score wins */
  void *cpu = NULL;
  const char *cpu_path = NULL;
  int best = 0;
  for (; a < argc; a++) {
    void *lib = dlopen(argv[a], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      fprintf(stderr, "quants_check: skipping %s\n", dlerror());
      continue;
    }
    score_fn score = (score_fn)dlsym(lib, "ggml_backend_score");
    const int s = score ? score() : 0;
    if (g_verbose) printf("  %s: score %d\n", argv[a], s);
    if (s > best) {
      if (cpu) dlclose(cpu);
      cpu = lib, cpu_path = argv[a], best = s;
    } else {
      dlclose(lib);
    }
  }
  if (!cpu) {
    fprintf(stderr, "quants_check: no ggml CPU library usable on this CPU\n");
    return 2;
  }
  const char *slash = strrchr(cpu_path, '/');
  printf("ggml-cpu variant: %s (backend score %d)\n", slash ? slash + 1 : cpu_path, best);
  ((void_fn)sym(cpu, "ggml_cpu_init", cpu_path))();
  g_traits_cpu = (get_traits_cpu_fn)sym(cpu, "ggml_get_type_traits_cpu", cpu_path);

  /* FR_R8_ROWS rows for the repacked check, ROWS for the others */
  const size_t cap = (size_t)(ROWS > FR_R8_ROWS ? ROWS : FR_R8_ROWS) * MAX_N * sizeof(float) + 4096;
  xs = malloc(cap), ys = malloc(cap), deq_ours = malloc(cap), deq_ggml = malloc(cap), deq_act = malloc(cap);
  qw = malloc(cap), qa_ours = malloc(cap), qa_ggml = malloc(cap);

  g_rng = 0x5eed0001;
  check_table();
  check_scalar_conversions();
  for (int c = 0; c < N_CASES; c++) {
    const struct tcase *tc = &cases[c];
    const fr_type_traits *t = fr_get_type_traits(tc->type);
    if (!t) {
      result(false, tc->name, "traits", "missing from fr_get_type_traits");
      continue;
    }
    g_rng = 0x5eed0000 + (uint64_t)c * 7919; /* each type's data independent of the others */
    check_to_float(tc, t);
    if (t->from_float) check_from_float(tc, t);
    if (t->vec_dot) check_vec_dot(tc, t);
    if (t->vec_dot4) check_vec_dot4(tc, t);
    if (t->gemm_dot_tile) check_gemm_dot_tile(tc, t, t->gemm_dot_tile, 4, 0, "gemm_dot_tile");
    if (t->gemm_dot_tile8) check_gemm_dot_tile(tc, t, t->gemm_dot_tile8, 8, 1, "gemm_dot_tile8");
    const fr_r8_traits *r8 = fr_get_r8_traits(tc->type);
    if (r8) check_r8(tc, t, r8);
  }
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail == 0 ? 0 : 1;
}
