/*
 * runtime_check.c — checks the CPU executor through its public ABI only:
 * every op against a naive double-precision reference on random inputs and
 * odd shapes, the plan path against eager dispatch, and the error paths.
 * Prints "N passed, M failed"; exits non-zero when anything failed.
 *
 * Build: cc -O2 -I native-shim/include test/native/runtime_check.c \
 *          build/native/libferrum_cpu-<variant>.so -Wl,-rpath,build/native -lm
 * Quantized types are exercised when the library supports them (their
 * reference dequantizes through get_rows_<type>, so mul_mat is checked
 * against the same type's to_float).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../metal/ferrum_params.h"
#include "../../native-shim/include/ferrum_shim.h"

static int n_passed, n_failed;

static void check(int ok, const char *fmt, ...) {
  if (ok) {
    n_passed++;
    return;
  }
  n_failed++;
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL: ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

/* ---------- random numbers and half precision (independent of the library) ---------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static float frand(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }
static void fill(float *x, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = frand() * scale;
}

static float h2f(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (float)((h & 0x8000) ? -v : v);
}

/* round-to-nearest-even through the exhaustive neighbour search: slow but obviously right */
static uint16_t f2h(float f) {
  if (isnan(f)) return 0x7e00;
  uint16_t sign = signbit(f) ? 0x8000 : 0;
  double a = fabs((double)f);
  if (a >= 65520.0) return sign | 0x7c00;
  /* binary search the largest non-negative half <= a */
  uint16_t lo = 0, hi = 0x7bff;
  while (lo < hi) {
    uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
    if (h2f(mid) <= a) lo = mid;
    else hi = mid - 1;
  }
  uint16_t best = lo;
  if (lo < 0x7bff || a > h2f(0x7bff)) {
    double d0 = a - h2f(lo), d1 = (lo == 0x7bff ? 65536.0 : h2f((uint16_t)(lo + 1))) - a;
    if (d1 < d0 || (d1 == d0 && (lo & 1))) best = (uint16_t)(lo + 1);
  }
  return sign | (best == 0x7c00 ? 0x7c00 : best);
}

static float round_h(float f) { return h2f(f2h(f)); }

/* ---------- library plumbing ---------- */

static int32_t dev;

typedef struct buf {
  int32_t h;
  void *p;
  int64_t bytes;
} buf;

static buf new_buf(int64_t bytes) {
  buf b = {fr_buffer_new(dev, bytes), NULL, bytes};
  if (b.h <= 0) {
    printf("fatal: fr_buffer_new(%lld): %s\n", (long long)bytes, fr_last_error());
    exit(2);
  }
  b.p = fr_buffer_contents(b.h);
  return b;
}

static void free_buf(buf b) { fr_buffer_free(b.h); }

static int32_t kernel(const char *name) { return fr_kernel(dev, name); }
static int supported(const char *name) { return fr_kernel(dev, name) > 0; }

static fr_op make_op(int32_t k, const void *params, uint32_t params_size, int n, const buf *bufs, const uint64_t *offsets) {
  (void)params;
  fr_op op;
  memset(&op, 0, sizeof op);
  op.kernel = k;
  op.n_bindings = (uint32_t)n;
  op.params_size = params_size;
  for (int i = 0; i < n; i++) {
    op.bindings[i].buffer = bufs[i].h;
    op.bindings[i].offset = offsets ? offsets[i] : 0;
  }
  return op;
}

/* eager dispatch of kernel `name` with bindings bufs[0..n) at offsets[0..n) (NULL: 0) */
static int32_t run_op_at(const char *name, const void *params, uint32_t params_size, int n, const buf *bufs,
                         const uint64_t *offsets) {
  int32_t k = kernel(name);
  if (k <= 0) return k;
  fr_op op = make_op(k, params, params_size, n, bufs, offsets);
  return fr_dispatch(dev, (const uint8_t *)&op, params, (int32_t)params_size, 1);
}

/* the same at offset 0 */
static int32_t run_op(const char *name, const void *params, uint32_t params_size, int n, const buf *bufs) {
  return run_op_at(name, params, params_size, n, bufs, NULL);
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (isnan(d)) return INFINITY;
    if (d > m) m = d;
  }
  return m;
}

/* ---------- rms_norm ---------- */

static void test_rms_norm(void) {
  const uint32_t shapes[][2] = {{1, 1}, {7, 3}, {128, 5}, {1000, 2}, {4096, 4}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    uint32_t nc = shapes[s][0], nr = shapes[s][1];
    buf x = new_buf((int64_t)nc * nr * 4), w = new_buf(nc * 4), y = new_buf((int64_t)nc * nr * 4);
    fill(x.p, (size_t)nc * nr, 3.0f);
    fill(w.p, nc, 2.0f);
    fr_rms_norm_params p = {nc, nr, 1e-5f, 0};
    buf b[3] = {x, w, y};
    int32_t rc = run_op("rms_norm_f32", &p, sizeof p, 3, b);
    double worst = 0;
    for (uint32_t r = 0; r < nr; r++) {
      const float *xr = (float *)x.p + (size_t)r * nc;
      double ss = 0;
      for (uint32_t i = 0; i < nc; i++) ss += (double)xr[i] * xr[i];
      double sc = 1.0 / sqrt(ss / nc + 1e-5);
      for (uint32_t i = 0; i < nc; i++) {
        double ref = xr[i] * sc * ((float *)w.p)[i];
        double d = fabs(ref - ((float *)y.p)[(size_t)r * nc + i]) / (fabs(ref) + 1e-6);
        if (d > worst) worst = d;
      }
    }
    check(rc == 0 && worst < 2e-6, "rms_norm %ux%u rc=%d rel err %g", nc, nr, rc, worst);
    free_buf(x), free_buf(w), free_buf(y);
  }
}

/* ---------- add / mul ---------- */

static void test_binary(void) {
  const uint32_t shapes[][2] = {{1, 1}, {37, 37}, {65, 13}, {100000, 1000}, {30000, 7}};
  for (int op = 0; op < 2; op++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      uint32_t n = shapes[s][0], nb = shapes[s][1];
      buf a = new_buf(n * 4), b = new_buf(nb * 4), y = new_buf(n * 4);
      fill(a.p, n, 1), fill(b.p, nb, 1);
      fr_binary_params p = {n, nb};
      buf bs[3] = {a, b, y};
      int32_t rc = run_op(op ? "mul_f32" : "add_f32", &p, sizeof p, 3, bs);
      int exact = 1;
      for (uint32_t i = 0; i < n; i++) {
        float av = ((float *)a.p)[i], bv = ((float *)b.p)[i % nb];
        float ref = op ? av * bv : av + bv;
        if (ref != ((float *)y.p)[i]) exact = 0;
      }
      check(rc == 0 && exact, "%s n=%u n_b=%u rc=%d exact=%d", op ? "mul_f32" : "add_f32", n, nb, rc, exact);
      /* in place: dst == a */
      if (op == 0 && s == 3) {
        float *copy = malloc(n * 4);
        memcpy(copy, a.p, n * 4);
        buf ip[3] = {a, b, a};
        rc = run_op("add_f32", &p, sizeof p, 3, ip);
        int same = 1;
        for (uint32_t i = 0; i < n; i++)
          if (((float *)a.p)[i] != copy[i] + ((float *)b.p)[i % nb]) same = 0;
        check(rc == 0 && same, "add_f32 in place");
        free(copy);
      }
      free_buf(a), free_buf(b), free_buf(y);
    }
}

/* ---------- rope ---------- */

static void test_rope(void) {
  /* head_dim, n_dims, n_head, n_tokens, pos0, mode, freq_scale */
  const struct { uint32_t hd, nd, nh, nt, pos0, mode; float fs; } cases[] = {
      {64, 64, 4, 3, 0, 0, 1.0f},  {64, 64, 4, 3, 17, 2, 1.0f}, {80, 32, 3, 5, 9, 0, 0.25f},
      {80, 32, 3, 5, 9, 2, 0.25f}, {6, 4, 1, 1, 3, 0, 1.0f},    {128, 128, 2, 70, 100, 2, 1.0f},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    uint32_t hd = cases[c].hd, nd = cases[c].nd, nh = cases[c].nh, nt = cases[c].nt;
    size_t n = (size_t)hd * nh * nt;
    buf x = new_buf((int64_t)n * 4), y = new_buf((int64_t)n * 4);
    fill(x.p, n, 1);
    fr_rope_params p = {hd, nd, nh, nt, cases[c].pos0, cases[c].mode, 10000.0f, cases[c].fs};
    buf b[2] = {x, y};
    int32_t rc = run_op("rope_f32", &p, sizeof p, 2, b);
    double worst = 0;
    for (uint32_t t = 0; t < nt; t++)
      for (uint32_t h = 0; h < nh; h++) {
        const float *xr = (float *)x.p + ((size_t)t * nh + h) * hd;
        const float *yr = (float *)y.p + ((size_t)t * nh + h) * hd;
        for (uint32_t i = 0; i < nd / 2; i++) {
          double theta = (double)(cases[c].pos0 + t) * pow(10000.0, -2.0 * i / nd) * cases[c].fs;
          uint32_t a = cases[c].mode == 0 ? 2 * i : i, bb = cases[c].mode == 0 ? 2 * i + 1 : i + nd / 2;
          double r0 = xr[a] * cos(theta) - xr[bb] * sin(theta), r1 = xr[a] * sin(theta) + xr[bb] * cos(theta);
          worst = fmax(worst, fmax(fabs(r0 - yr[a]), fabs(r1 - yr[bb])));
        }
        for (uint32_t i = nd; i < hd; i++) worst = fmax(worst, fabs((double)xr[i] - yr[i]));
      }
    check(rc == 0 && worst < 2e-4, "rope case %zu (mode %u) rc=%d max err %g", c, cases[c].mode, rc, worst);
    /* in place equals out of place */
    buf ip[2] = {x, x};
    rc = run_op("rope_f32", &p, sizeof p, 2, ip);
    check(rc == 0 && max_abs_diff(x.p, y.p, n) == 0, "rope case %zu in place", c);
    free_buf(x), free_buf(y);
  }
}

/* ---------- softmax / swiglu ---------- */

static void test_softmax(void) {
  const struct { uint32_t nc, nr; float scale; } cases[] = {{1, 1, 1}, {13, 3, 0.5f}, {1000, 4, 2}, {64, 70, 0.125f}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    size_t n = (size_t)cases[c].nc * cases[c].nr;
    buf x = new_buf((int64_t)n * 4), y = new_buf((int64_t)n * 4);
    fill(x.p, n, 8);
    fr_softmax_params p = {cases[c].nc, cases[c].nr, cases[c].scale, 0};
    buf b[2] = {x, y};
    int32_t rc = run_op("soft_max_f32", &p, sizeof p, 2, b);
    double worst = 0;
    for (uint32_t r = 0; r < cases[c].nr; r++) {
      const float *xr = (float *)x.p + (size_t)r * cases[c].nc;
      double mx = -INFINITY, sum = 0;
      for (uint32_t i = 0; i < cases[c].nc; i++) mx = fmax(mx, (double)xr[i] * cases[c].scale);
      for (uint32_t i = 0; i < cases[c].nc; i++) sum += exp((double)xr[i] * cases[c].scale - mx);
      for (uint32_t i = 0; i < cases[c].nc; i++) {
        double ref = exp((double)xr[i] * cases[c].scale - mx) / sum;
        worst = fmax(worst, fabs(ref - ((float *)y.p)[(size_t)r * cases[c].nc + i]) / (ref + 1e-30));
      }
    }
    check(rc == 0 && worst < 1e-5, "soft_max %ux%u rc=%d rel err %g", cases[c].nc, cases[c].nr, rc, worst);
    free_buf(x), free_buf(y);
  }
}

static void test_swiglu(void) {
  const uint32_t sizes[] = {1, 17, 100000};
  for (size_t s = 0; s < 3; s++) {
    uint32_t n = sizes[s];
    buf g = new_buf(n * 4), u = new_buf(n * 4), y = new_buf(n * 4);
    fill(g.p, n, 6), fill(u.p, n, 2);
    fr_glu_params p = {n, 0};
    buf b[3] = {g, u, y};
    int32_t rc = run_op("swiglu_f32", &p, sizeof p, 3, b);
    double worst = 0;
    for (uint32_t i = 0; i < n; i++) {
      double gv = ((float *)g.p)[i], ref = gv / (1 + exp(-gv)) * ((float *)u.p)[i];
      worst = fmax(worst, fabs(ref - ((float *)y.p)[i]) / (fabs(ref) + 1e-6));
    }
    check(rc == 0 && worst < 1e-5, "swiglu n=%u rc=%d rel err %g", n, rc, worst);
    free_buf(g), free_buf(u), free_buf(y);
  }
}

/* ---------- KV store ---------- */

/* where element i of the row for position r lands in a cache of heads hd
 * wide (fr_kv_row, metal/ferrum_params.h), in elements */
static size_t kv_at(uint32_t r, uint32_t i, uint32_t hd, uint32_t heads, uint32_t n_ctx) {
  return (size_t)fr_kv_row(i / hd, r, heads, n_ctx) * hd + i % hd;
}

/* the cache layout itself: every (head, position) its own row of the
 * n_ctx * heads, a head's positions consecutive within a block, and two
 * rows worked out by hand */
static void test_kv_layout(void) {
  const uint32_t shapes[][2] = {{1, 1}, {3, 10}, {2, 1024}, {4, 1025}, {2, 2500}, {8, 3000}};
  int ok = 1;
  for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
    const uint32_t heads = shapes[c][0], n_ctx = shapes[c][1];
    uint8_t *seen = calloc((size_t)heads * n_ctx, 1);
    for (uint32_t g = 0; g < heads; g++)
      for (uint32_t pos = 0; pos < n_ctx; pos++) {
        const uint64_t r = fr_kv_row(g, pos, heads, n_ctx);
        if (r >= (uint64_t)heads * n_ctx || seen[r]++) ok = 0;
        if (pos % FR_KV_BLOCK_ROWS && r != fr_kv_row(g, pos - 1, heads, n_ctx) + 1) ok = 0;
      }
    free(seen);
  }
  check(ok, "KV cache layout: one row per head and position, a head's rows consecutive within a block");
  /* n_ctx 2500 = blocks of 1024, 1024 and 452 positions, 2 heads */
  check(FR_KV_BLOCK_ROWS == 1024 && fr_kv_row(1, 1300, 2, 2500) == 2 * 1024 + 1024 + 276 &&
            fr_kv_row(1, 2490, 2, 2500) == 4 * 1024 + 452 + 442 && fr_kv_row(0, 1023, 2, 2500) == 1023,
        "KV cache layout: rows of head 1 at positions 1300 and 2490 of 2500");
}

/* rows pos0..pos0+nt of an n_ctx cache; `edges`: also the checks that do
 * not depend on where the rows land */
static void test_kv_store_at(uint32_t pos0, uint32_t nt, uint32_t n_ctx, int edges) {
  const uint32_t nc = 96, hd = 32, heads = nc / hd;
  buf src = new_buf(nc * nt * 4);
  fill(src.p, nc * nt, 4);
  fr_kv_store_params p = {nc, nt, pos0, n_ctx, hd, 0};

  buf c32 = new_buf(nc * n_ctx * 4);
  buf b[2] = {src, c32};
  int32_t rc = run_op("cpy_f32_f32", &p, sizeof p, 2, b);
  int ok = rc == 0;
  for (uint32_t r = 0; r < n_ctx; r++)
    for (uint32_t i = 0; i < nc; i++) {
      float want = r >= pos0 && r < pos0 + nt ? ((float *)src.p)[(r - pos0) * nc + i] : 0.0f;
      if (((float *)c32.p)[kv_at(r, i, hd, heads, n_ctx)] != want) ok = 0;
    }
  check(ok, "cpy_f32_f32 at %u of %u: rows land at pos0 (rc=%d)", pos0, n_ctx, rc);

  buf c16 = new_buf(nc * n_ctx * 2);
  b[1] = c16;
  rc = run_op("cpy_f32_f16", &p, sizeof p, 2, b);
  ok = rc == 0;
  for (uint32_t r = 0; r < n_ctx; r++)
    for (uint32_t i = 0; i < nc; i++) {
      uint16_t want = r >= pos0 && r < pos0 + nt ? f2h(((float *)src.p)[(r - pos0) * nc + i]) : 0;
      if (((uint16_t *)c16.p)[kv_at(r, i, hd, heads, n_ctx)] != want) ok = 0;
    }
  check(ok, "cpy_f32_f16 at %u of %u: rounds to nearest even, rows land at pos0 (rc=%d)", pos0, n_ctx, rc);

  fr_kv_store_params bad = p;
  if (edges) {
    /* heads that do not split the row, or split a q8_0 block */
    bad.head_dim = 40;
    rc = run_op("cpy_f32_f16", &bad, sizeof bad, 2, b);
    check(rc == FR_E_INVALID && strstr(fr_last_error(), "head_dim 40"), "kv store, head_dim 40 of 96: %s", fr_last_error());
    bad.head_dim = 0;
    rc = run_op("cpy_f32_f32", &bad, sizeof bad, 2, b);
    check(rc == FR_E_INVALID && strstr(fr_last_error(), "head_dim 0"), "kv store, head_dim 0: %s", fr_last_error());

    /* rounding ties: 1 + 2^-11 is halfway between two halves and must go to even */
    float ties[4] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -2049.0f, 65519.0f};
    buf tsrc = new_buf(16), tdst = new_buf(8);
    memcpy(tsrc.p, ties, 16);
    fr_kv_store_params tp = {4, 1, 0, 1, 4, 0};
    buf tb[2] = {tsrc, tdst};
    rc = run_op("cpy_f32_f16", &tp, sizeof tp, 2, tb);
    const uint16_t *th = tdst.p;
    check(rc == 0 && th[0] == 0x3c00 && th[1] == 0x3c02 && th[2] == 0xe800 && th[3] == 0x7bff,
          "cpy_f32_f16 ties to even: %04x %04x %04x %04x", th[0], th[1], th[2], th[3]);
    free_buf(tsrc), free_buf(tdst);
  }

  if (supported("cpy_f32_q8_0") && supported("get_rows_q8_0")) {
    buf cq = new_buf(nc / 32 * 34 * n_ctx);
    b[1] = cq;
    rc = run_op("cpy_f32_q8_0", &p, sizeof p, 2, b);
    if (edges) {
      bad.head_dim = 48; /* splits the row, not a block */
      int32_t rc_bad = run_op("cpy_f32_q8_0", &bad, sizeof bad, 2, b);
      check(rc_bad == FR_E_INVALID && strstr(fr_last_error(), "whole blocks"), "q8_0 kv store, head_dim 48: %s",
            fr_last_error());
    }
    /* read the cache back through get_rows_q8_0: a table of n_ctx * heads
     * head rows; token t's heads in order give its row */
    buf ids = new_buf(nt * heads * 4), back = new_buf(nc * nt * 4);
    for (uint32_t t = 0; t < nt; t++)
      for (uint32_t g = 0; g < heads; g++) ((int32_t *)ids.p)[t * heads + g] = (int32_t)fr_kv_row(g, pos0 + t, heads, n_ctx);
    fr_get_rows_params gp = {hd, nt * heads, heads * n_ctx, hd / 32 * 34};
    buf gb[3] = {cq, ids, back};
    int32_t rc2 = run_op("get_rows_q8_0", &gp, sizeof gp, 3, gb);
    double worst = max_abs_diff(src.p, back.p, nc * nt);
    /* half a quantization step, plus the scale's own rounding to fp16 */
    double bound = 4.0 / 127 * 0.5 + 4.0 * 0x1p-10;
    check(rc == 0 && rc2 == 0 && worst <= bound, "cpy_f32_q8_0 at %u of %u: round trip err %g (rc %d %d)", pos0, n_ctx,
          worst, rc, rc2);
    free_buf(cq), free_buf(ids), free_buf(back);
  }
  free_buf(src), free_buf(c32), free_buf(c16);
}

static void test_kv_store(void) {
  test_kv_layout();
  test_kv_store_at(5, 3, 10, 1);
  test_kv_store_at(1020, 12, 1100, 0); /* across a block boundary */
  test_kv_store_at(1090, 10, 1100, 0); /* the last, shorter block */
}

/* ---------- get_rows ---------- */

typedef struct qtype {
  const char *name;
  uint32_t blck, size;
} qtype;

static const qtype qtypes[] = {
    {"f32", 1, 4},      {"f16", 1, 2},      {"bf16", 1, 2},     {"q4_0", 32, 18},    {"q4_1", 32, 20},
    {"q5_0", 32, 22},   {"q5_1", 32, 24},   {"q8_0", 32, 34},   {"q2_K", 256, 84},   {"q3_K", 256, 110},
    {"q4_K", 256, 144}, {"q5_K", 256, 176}, {"q6_K", 256, 210}, {"iq4_nl", 32, 18}, {"iq4_xs", 256, 136},
};
#define N_QTYPES (sizeof qtypes / sizeof qtypes[0])

/* Random weights for any type: f32/f16/bf16 from random floats; block types
 * from bytes in [0, 0x3b], so every fp16 scale read from them is a finite
 * value below 1 whatever the block layout. */
static void fill_weights(const qtype *t, void *data, size_t n_elems) {
  if (!strcmp(t->name, "f32")) {
    fill(data, n_elems, 1);
  } else if (!strcmp(t->name, "f16")) {
    for (size_t i = 0; i < n_elems; i++) ((uint16_t *)data)[i] = f2h(frand());
  } else if (!strcmp(t->name, "bf16")) {
    for (size_t i = 0; i < n_elems; i++) {
      float f = frand();
      uint32_t u;
      memcpy(&u, &f, 4);
      ((uint16_t *)data)[i] = (uint16_t)(u >> 16);
    }
  } else {
    size_t bytes = n_elems / t->blck * t->size;
    for (size_t i = 0; i < bytes; i++) ((uint8_t *)data)[i] = (uint8_t)(rnd() % 0x3c);
  }
}

/* dequantize rows [0, n_rows) of a table through get_rows_<type> */
static int dequant(const qtype *t, buf table, uint32_t n_cols, uint32_t n_rows, float *out) {
  char name[32];
  snprintf(name, sizeof name, "get_rows_%s", t->name);
  buf ids = new_buf(n_rows * 4), dst = new_buf((int64_t)n_rows * n_cols * 4);
  for (uint32_t r = 0; r < n_rows; r++) ((int32_t *)ids.p)[r] = (int32_t)r;
  fr_get_rows_params p = {n_cols, n_rows, n_rows, n_cols / t->blck * t->size};
  buf b[3] = {table, ids, dst};
  int32_t rc = run_op(name, &p, sizeof p, 3, b);
  memcpy(out, dst.p, (size_t)n_rows * n_cols * 4);
  free_buf(ids), free_buf(dst);
  return rc;
}

static void test_get_rows(void) {
  for (size_t ti = 0; ti < N_QTYPES; ti++) {
    const qtype *t = &qtypes[ti];
    char name[32];
    snprintf(name, sizeof name, "get_rows_%s", t->name);
    if (!supported(name)) continue;
    uint32_t nc = t->blck == 1 ? 37 : 2 * t->blck, nv = 11, nr = 5;
    uint32_t rb = nc / t->blck * t->size;
    buf table = new_buf((int64_t)rb * nv);
    fill_weights(t, table.p, (size_t)nc * nv);
    float *all = malloc((size_t)nc * nv * 4);
    int32_t rc = dequant(t, table, nc, nv, all);
    /* the identity lookup must equal an independent decode for the plain types */
    int ok = rc == 0;
    for (size_t i = 0; i < (size_t)nc * nv && ok; i++) {
      float want = all[i];
      if (!strcmp(t->name, "f32")) want = ((float *)table.p)[i];
      if (!strcmp(t->name, "f16")) want = h2f(((uint16_t *)table.p)[i]);
      if (!strcmp(t->name, "bf16")) {
        uint32_t u = (uint32_t)((uint16_t *)table.p)[i] << 16;
        memcpy(&want, &u, 4);
      }
      if (all[i] != want || !isfinite(all[i])) ok = 0;
    }
    check(ok, "%s decodes (rc=%d)", name, rc);
    /* gather: arbitrary ids, repeated */
    buf ids = new_buf(nr * 4), dst = new_buf(nr * nc * 4);
    const int32_t pick[5] = {3, 0, 10, 3, 7};
    memcpy(ids.p, pick, sizeof pick);
    fr_get_rows_params p = {nc, nr, nv, rb};
    buf b[3] = {table, ids, dst};
    rc = run_op(name, &p, sizeof p, 3, b);
    ok = rc == 0;
    for (uint32_t r = 0; r < nr; r++)
      if (memcmp((float *)dst.p + r * nc, all + (size_t)pick[r] * nc, nc * 4)) ok = 0;
    check(ok, "%s gathers ids (rc=%d)", name, rc);
    free(all);
    free_buf(ids), free_buf(dst), free_buf(table);
  }
}

/* ---------- mul_mat ---------- */

static void test_mul_mat_type(const qtype *t) {
  char name[32];
  snprintf(name, sizeof name, "mul_mat_%s", t->name);
  if (!supported(name)) return;
  const uint32_t shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 33, 40}, {256, 100, 70}, {512, 17, 35}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    uint32_t nc = shapes[s][0], nr = shapes[s][1], nt = shapes[s][2];
    if (nc % t->blck) continue;
    uint32_t rb = nc / t->blck * t->size;
    buf w = new_buf((int64_t)rb * nr), x = new_buf((int64_t)nc * nt * 4), y = new_buf((int64_t)nr * nt * 4);
    fill_weights(t, w.p, (size_t)nc * nr);
    fill(x.p, (size_t)nc * nt, 1);
    float *wd = malloc((size_t)nc * nr * 4);
    int32_t rc0 = dequant(t, w, nc, nr, wd);
    fr_mul_mat_params p = {nc, nr, nt, rb};
    buf b[3] = {w, x, y};
    int32_t rc = run_op(name, &p, sizeof p, 3, b);
    /* activations are rounded to the weight's vec_dot_type: f32 is exact,
     * f16/bf16 lose ~2^-9, 8-bit block types ~1/127 of the block max */
    double rel = !strcmp(t->name, "f32") ? 1e-5 : t->blck == 1 ? 1e-2 : 2e-2;
    int ok = rc == 0 && rc0 == 0;
    double worst = 0;
    for (uint32_t k = 0; k < nt && ok; k++)
      for (uint32_t r = 0; r < nr; r++) {
        double ref = 0, mag = 0;
        for (uint32_t i = 0; i < nc; i++) {
          double a = (double)wd[(size_t)r * nc + i] * ((float *)x.p)[(size_t)k * nc + i];
          ref += a;
          mag += fabs(a);
        }
        double err = fabs(ref - ((float *)y.p)[(size_t)k * nr + r]);
        worst = fmax(worst, err / (mag + 1e-12));
        if (!(err <= rel * mag + 1e-6)) ok = 0;
      }
    check(ok, "%s %ux%u x %u tokens: rc=%d worst rel err %g", name, nr, nc, nt, rc, worst);
    /* tiling must not change numerics: each token alone gives the same
     * bits. For f32/f16/bf16 weights ggml itself sums in one order for a
     * single token (vec_dot) and in another for 2+ (llamafile_sgemm), and
     * ferrum follows it; there "alone" is a batch of two copies. */
    if (nt > 1) {
      const uint32_t copies = t->blck == 1 ? 2 : 1;
      buf x1 = new_buf(copies * nc * 4), y1 = new_buf(copies * nr * 4);
      fr_mul_mat_params p1 = {nc, nr, copies, rb};
      int same = 1;
      for (uint32_t k = 0; k < nt; k += 13) {
        for (uint32_t c = 0; c < copies; c++) memcpy((float *)x1.p + (size_t)c * nc, (float *)x.p + (size_t)k * nc, nc * 4);
        buf b1[3] = {w, x1, y1};
        if (run_op(name, &p1, sizeof p1, 3, b1) != 0 || memcmp(y1.p, (float *)y.p + (size_t)k * nr, nr * 4)) same = 0;
      }
      check(same, "%s %ux%u: batched tokens equal %s results bitwise", name, nr, nc,
            copies > 1 ? "two-copy batch" : "single-token");
      free_buf(x1), free_buf(y1);
    }
    free(wd);
    free_buf(w), free_buf(x), free_buf(y);
  }
}

static void test_mul_mat(void) {
  for (size_t ti = 0; ti < N_QTYPES; ti++) test_mul_mat_type(&qtypes[ti]);
}

/* ---------- attention ---------- */

/* double-precision causal GQA attention over a cache given as floats */
static void attn_ref(const fr_attn_params *p, const float *q, const float *k, const float *v, double *out) {
  uint32_t d = p->head_dim, kvw = p->n_head_kv * d, grp = p->n_head / p->n_head_kv;
  double *s = malloc(sizeof(double) * (p->pos0 + p->n_tokens));
  for (uint32_t t = 0; t < p->n_tokens; t++)
    for (uint32_t h = 0; h < p->n_head; h++) {
      uint32_t g = h / grp, n_kv = p->pos0 + t + 1;
      const float *qr = q + ((size_t)t * p->n_head + h) * d;
      double mx = -INFINITY, sum = 0;
      for (uint32_t j = 0; j < n_kv; j++) {
        double dot = 0;
        for (uint32_t i = 0; i < d; i++) dot += (double)qr[i] * k[(size_t)j * kvw + g * d + i];
        s[j] = dot * p->scale;
        mx = fmax(mx, s[j]);
      }
      for (uint32_t j = 0; j < n_kv; j++) sum += (s[j] = exp(s[j] - mx));
      double *o = out + ((size_t)t * p->n_head + h) * d;
      for (uint32_t i = 0; i < d; i++) {
        double acc = 0;
        for (uint32_t j = 0; j < n_kv; j++) acc += s[j] * v[(size_t)j * kvw + g * d + i];
        o[i] = acc / sum;
      }
    }
  free(s);
}

static void test_attn_type(const char *kv) {
  char name[32];
  snprintf(name, sizeof name, "attn_%s", kv);
  if (!supported(name)) return;
  int is16 = !strcmp(kv, "f16"), is32 = !strcmp(kv, "f32"), isq8 = !strcmp(kv, "q8_0");
  /* n_head, n_head_kv, head_dim, n_tokens, pos0, n_ctx */
  const uint32_t cases[][6] = {
      {1, 1, 32, 1, 0, 4},    {4, 2, 32, 3, 5, 16},  {6, 3, 64, 1, 40, 48},  {4, 1, 20, 5, 2, 8},
      {4, 2, 32, 70, 10, 96}, {2, 1, 12, 65, 0, 80}, {8, 4, 16, 130, 3, 140},
      /* caches of more than one block of positions (FR_KV_BLOCK_ROWS) */
      {4, 2, 32, 3, 1100, 1200}, {4, 2, 32, 70, 1000, 1100}, {2, 2, 64, 1, 1199, 1200},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    fr_attn_params p = {cases[c][0], cases[c][1], cases[c][2], cases[c][3], cases[c][4], cases[c][5], 0, 0};
    if (isq8 && p.head_dim % 32) continue;
    p.scale = 1.0f / sqrtf((float)p.head_dim);
    uint32_t kvw = p.n_head_kv * p.head_dim;
    size_t qn = (size_t)p.n_tokens * p.n_head * p.head_dim, cn = (size_t)p.n_ctx * kvw;
    size_t row = isq8 ? kvw / 32 * 34 : kvw * (is16 ? 2 : 4);
    buf q = new_buf((int64_t)qn * 4), kc = new_buf((int64_t)row * p.n_ctx), vc = new_buf((int64_t)row * p.n_ctx),
        o = new_buf((int64_t)qn * 4);
    fill(q.p, qn, 2);
    float *kf = malloc(cn * 4), *vf = malloc(cn * 4);
    fill(kf, cn, 1), fill(vf, cn, 1);
    /* the cache is written by the KV store kernel itself */
    char store[32];
    snprintf(store, sizeof store, "cpy_f32_%s", kv);
    buf src = new_buf((int64_t)cn * 4);
    fr_kv_store_params sp = {kvw, p.n_ctx, 0, p.n_ctx, p.head_dim, 0};
    memcpy(src.p, kf, cn * 4);
    buf sb[2] = {src, kc};
    int32_t rc1 = run_op(store, &sp, sizeof sp, 2, sb);
    memcpy(src.p, vf, cn * 4);
    sb[1] = vc;
    int32_t rc2 = run_op(store, &sp, sizeof sp, 2, sb);
    /* the reference sees the cache as the kernel reads it: f16 values, or
     * f32 rounded to f16 as llama.cpp casts it, or q8_0 decoded */
    if (isq8) {
      /* decoded head-major, then laid out by position as attn_ref reads it */
      const qtype *t8 = &qtypes[7];
      float *hm = malloc(cn * 4);
      const buf caches[2] = {kc, vc};
      float *outs[2] = {kf, vf};
      for (int s = 0; s < 2; s++) {
        dequant(t8, caches[s], p.head_dim, p.n_ctx * p.n_head_kv, hm);
        for (uint32_t r = 0; r < p.n_ctx; r++)
          for (uint32_t i = 0; i < kvw; i++) outs[s][(size_t)r * kvw + i] = hm[kv_at(r, i, p.head_dim, p.n_head_kv, p.n_ctx)];
      }
      free(hm);
    } else {
      for (size_t i = 0; i < cn; i++) kf[i] = round_h(kf[i]), vf[i] = round_h(vf[i]);
    }
    buf b[4] = {q, kc, vc, o};
    int32_t rc = run_op(name, &p, sizeof p, 4, b);
    double *ref = malloc(qn * sizeof(double));
    attn_ref(&p, q.p, kf, vf, ref);
    double worst = 0;
    for (size_t i = 0; i < qn; i++) worst = fmax(worst, fabs(ref[i] - ((float *)o.p)[i]));
    int tiled = !isq8 && p.n_tokens >= 64 && p.head_dim % 8 == 0;
    /* tiled: all f32; online: Q rounded to f16 (or q8_0) and an f16 V accumulator */
    double tol = tiled ? 2e-6 : isq8 ? 3e-2 : 3e-3;
    check(rc1 == 0 && rc2 == 0 && rc == 0 && worst < tol, "%s case %zu (%s route) rc=%d max err %g (tol %g)", name, c,
          tiled ? "tiled" : "online", rc, worst, tol);
    /* a single-token call at pos0+t reproduces row t of the batch (online route) */
    if (!tiled && p.n_tokens > 1) {
      fr_attn_params p1 = p;
      p1.n_tokens = 1;
      p1.pos0 = p.pos0 + p.n_tokens - 1;
      buf q1 = new_buf((int64_t)p.n_head * p.head_dim * 4), o1 = new_buf((int64_t)p.n_head * p.head_dim * 4);
      size_t last = (size_t)(p.n_tokens - 1) * p.n_head * p.head_dim;
      memcpy(q1.p, (float *)q.p + last, (size_t)p.n_head * p.head_dim * 4);
      buf b1[4] = {q1, kc, vc, o1};
      rc = run_op(name, &p1, sizeof p1, 4, b1);
      check(rc == 0 && !memcmp(o1.p, (float *)o.p + last, (size_t)p.n_head * p.head_dim * 4),
            "%s case %zu: decode step equals last batch row bitwise", name, c);
      free_buf(q1), free_buf(o1);
    }
    (void)is32;
    free(ref), free(kf), free(vf);
    free_buf(q), free_buf(kc), free_buf(vc), free_buf(o), free_buf(src);
  }
}

static void test_attn(void) {
  test_attn_type("f16");
  test_attn_type("f32");
  test_attn_type("q8_0");
}

/* ---------- plans ---------- */

typedef struct plan_builder {
  uint8_t blob[4096];
  fr_op ops[8];
  fr_patch patches[8];
  uint8_t params[512];
  uint32_t n_ops, n_patches, params_bytes;
} plan_builder;

static uint32_t pb_op(plan_builder *b, int32_t k, const void *params, uint32_t size, int n, const buf *bufs) {
  fr_op op = make_op(k, params, size, n, bufs, NULL);
  op.params_offset = b->params_bytes;
  memcpy(b->params + b->params_bytes, params, size);
  b->params_bytes += (size + 3) & ~3u;
  b->ops[b->n_ops] = op;
  return b->n_ops++;
}

static void pb_patch(plan_builder *b, uint32_t op, uint32_t offset, uint32_t slot, int32_t scale, int32_t bias) {
  b->patches[b->n_patches++] = (fr_patch){op, offset, slot, scale, bias};
}

static int64_t pb_finish(plan_builder *b) {
  fr_plan_header h = {FR_PLAN_MAGIC, FR_ABI_VERSION, b->n_ops, b->n_patches, b->params_bytes, 0};
  uint8_t *p = b->blob;
  memcpy(p, &h, sizeof h), p += sizeof h;
  memcpy(p, b->ops, b->n_ops * sizeof(fr_op)), p += b->n_ops * sizeof(fr_op);
  memcpy(p, b->patches, b->n_patches * sizeof(fr_patch)), p += b->n_patches * sizeof(fr_patch);
  memcpy(p, b->params, b->params_bytes), p += b->params_bytes;
  return p - b->blob;
}

/* add (residual) -> rms_norm -> rope, with token count and position patched */
static void test_plan(void) {
  const uint32_t nc = 64, max_t = 4;
  buf a = new_buf(nc * max_t * 4), bias = new_buf(nc * 4), w = new_buf(nc * 4), s1 = new_buf(nc * max_t * 4),
      s2 = new_buf(nc * max_t * 4), out = new_buf(nc * max_t * 4);
  fill(a.p, nc * max_t, 1), fill(bias.p, nc, 1), fill(w.p, nc, 1);
  plan_builder pb;
  memset(&pb, 0, sizeof pb);
  fr_binary_params bp = {0, nc};
  fr_rms_norm_params np = {nc, 0, 1e-6f, 0};
  fr_rope_params rp = {16, 16, 4, 0, 0, 0, 10000.0f, 1.0f};
  buf b0[3] = {a, bias, s1}, b1[3] = {s1, w, s2}, b2[2] = {s2, out};
  uint32_t o0 = pb_op(&pb, kernel("add_f32"), &bp, sizeof bp, 3, b0);
  uint32_t o1 = pb_op(&pb, kernel("rms_norm_f32"), &np, sizeof np, 3, b1);
  uint32_t o2 = pb_op(&pb, kernel("rope_f32"), &rp, sizeof rp, 2, b2);
  pb_patch(&pb, o0, 0, 0, (int32_t)nc, 0);    /* n = tokens * nc */
  pb_patch(&pb, o1, 4, 0, 1, 0);              /* n_rows = tokens */
  pb_patch(&pb, o2, 12, 0, 1, 0);             /* n_tokens */
  pb_patch(&pb, o2, 16, 1, 1, 0);             /* pos0 */
  int64_t bytes = pb_finish(&pb);
  int32_t plan = fr_plan_new(dev, pb.blob, bytes);
  check(plan > 0, "fr_plan_new: %d %s", plan, plan > 0 ? "" : fr_last_error());
  if (plan <= 0) return;

  int runs[2][2] = {{3, 7}, {2, 11}};
  float *eager = malloc(nc * max_t * 4);
  for (int r = 0; r < 2; r++) {
    int nt = runs[r][0], pos = runs[r][1];
    memset(out.p, 0, nc * max_t * 4);
    int32_t rc = fr_plan_run(plan, nt, pos, 0, 0);
    /* the same three ops, eagerly */
    fr_binary_params ebp = {nt * nc, nc};
    fr_rms_norm_params enp = {nc, (uint32_t)nt, 1e-6f, 0};
    fr_rope_params erp = {16, 16, 4, (uint32_t)nt, (uint32_t)pos, 0, 10000.0f, 1.0f};
    buf eo = new_buf(nc * max_t * 4);
    buf e2[2] = {s2, eo};
    int32_t rce = run_op("add_f32", &ebp, sizeof ebp, 3, b0) | run_op("rms_norm_f32", &enp, sizeof enp, 3, b1) |
                  run_op("rope_f32", &erp, sizeof erp, 2, e2);
    memcpy(eager, eo.p, nc * max_t * 4);
    check(rc == 0 && rce == 0 && !memcmp(out.p, eager, nc * nt * 4),
          "plan replay %d (tokens %d, pos %d) equals eager dispatch (rc %d %s)", r, nt, pos, rc,
          rc ? fr_last_error() : "");
    free_buf(eo);
  }
  free(eager);

  /* a plan keeps its buffers alive */
  check(fr_buffer_free(s1.h) == FR_E_INVALID && strstr(fr_last_error(), "plan"), "buffer free refused while a plan uses it: %s",
        fr_last_error());
  /* a slot value that overflows the buffers is caught before anything runs */
  int32_t rc = fr_plan_run(plan, 1000, 0, 0, 0);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "plan op 0") && strstr(fr_last_error(), "add_f32"),
        "oversized replay rejected: %s", fr_last_error());
  check(fr_plan_free(plan) == 0 && fr_plan_free(plan) == FR_E_INVALID, "plan free, then double free rejected");

  /* structural validation at upload */
  int64_t good = pb_finish(&pb);
  uint8_t *blob = pb.blob;
  uint32_t magic = 0xdeadbeef;
  memcpy(blob, &magic, 4);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "magic"), "bad magic: %s", fr_last_error());
  good = pb_finish(&pb);
  rc = fr_plan_new(dev, blob, good - 4);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "bytes"), "truncated blob: %s", fr_last_error());
  uint32_t version = 99;
  memcpy(blob + 4, &version, 4);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "version"), "bad version: %s", fr_last_error());
  pb.ops[1].kernel = 99999;
  good = pb_finish(&pb);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "plan op 1") && strstr(fr_last_error(), "kernel"),
        "bad kernel id: %s", fr_last_error());
  pb.ops[1].kernel = kernel("rms_norm_f32");
  pb.ops[2].bindings[1].buffer = 424242;
  good = pb_finish(&pb);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "plan op 2") && strstr(fr_last_error(), "handle"),
        "bad buffer handle in plan: %s", fr_last_error());
  pb.ops[2].bindings[1].buffer = out.h;
  pb.ops[2].params_offset = 4000;
  good = pb_finish(&pb);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "params"), "params outside blob: %s", fr_last_error());
  pb.ops[2].params_offset = pb.ops[1].params_offset + 16;
  pb.patches[3].offset = 64;
  good = pb_finish(&pb);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "patch 3"), "patch outside params: %s", fr_last_error());
  pb.patches[3].offset = 16;
  pb.patches[3].slot = 4;
  good = pb_finish(&pb);
  rc = fr_plan_new(dev, blob, good);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "slot"), "patch slot out of range: %s", fr_last_error());
  check(fr_buffer_free(s1.h) == 0, "buffers free once plans are gone (failed uploads hold nothing)");
  free_buf(a), free_buf(bias), free_buf(w), free_buf(s2), free_buf(out);
}

/* ---------- error paths ---------- */

/* mul_mats sharing x (q/k/v, gate/up) run as one parallel section inside a
 * plan. Mixed layouts and types must give eager dispatch's bits at 1 and 3
 * tokens, and ops that depend on each other must not be grouped: op 1
 * writes into x (which op 2 then reads, so op 2 may not reuse x quantized
 * before op 1), op 3's weights are op 2's output. */
static const qtype *qtype_named(const char *name) {
  for (size_t i = 0; i < N_QTYPES; i++)
    if (!strcmp(qtypes[i].name, name)) return &qtypes[i];
  return NULL;
}

static void test_plan_mul_mat_group(void) {
  if (!supported("mul_mat_q4_K_r8") || !supported("repack_q4_K_r8")) return;
  enum { N_OPS = 5 };
  const uint32_t nc = 512, max_t = 3;
  const char *types[N_OPS] = {"q4_K", "q6_K", "f32", "q6_K", "f32"};
  const uint32_t rows[N_OPS] = {64, 24, 8, 16, 8};
  /* op 4's weights are y3, so y3 holds 8 rows of nc floats */
  const uint32_t y_floats[N_OPS] = {64 * max_t, 24 * max_t, 0, nc * 8, 8 * max_t};
  buf x = new_buf(nc * max_t * 4), w[N_OPS], y[N_OPS];
  float *x0 = malloc(nc * max_t * 4);
  fill(x0, (size_t)nc * max_t, 1);
  for (uint32_t i = 0; i < N_OPS; i++) {
    const qtype *t = qtype_named(types[i]);
    w[i] = new_buf((int64_t)rows[i] * nc / t->blck * t->size);
    fill_weights(t, w[i].p, (size_t)rows[i] * nc);
    y[i] = i == 2 ? x : new_buf((int64_t)y_floats[i] * 4);
    if (i != 2) memset(y[i].p, 0, (size_t)y_floats[i] * 4);
  }
  /* op 0 reads W0 repacked */
  const uint32_t r8_bytes = rows[0] / 8 * (nc / 256) * 1152;
  buf w0r = new_buf(r8_bytes);
  fr_repack_params rp = {nc, rows[0], nc / 256 * 144, 1152};
  buf rb[2] = {w[0], w0r};
  int32_t rc_repack = run_op("repack_q4_K_r8", &rp, sizeof rp, 2, rb);
  plan_builder pb;
  memset(&pb, 0, sizeof pb);
  char names[N_OPS][32];
  fr_mul_mat_params mp[N_OPS];
  buf bind[N_OPS][3];
  for (uint32_t i = 0; i < N_OPS; i++) {
    const qtype *t = qtype_named(types[i]);
    mp[i] = (fr_mul_mat_params){nc, rows[i], 1, i == 0 ? r8_bytes / rows[0] : nc / t->blck * t->size};
    snprintf(names[i], sizeof names[i], i == 0 ? "mul_mat_%s_r8" : "mul_mat_%s", t->name);
    bind[i][0] = i == 0 ? w0r : i == 4 ? y[3] : w[i];
    bind[i][1] = x;
    bind[i][2] = y[i];
    uint32_t o = pb_op(&pb, kernel(names[i]), &mp[i], sizeof mp[i], 3, bind[i]);
    pb_patch(&pb, o, 8, 0, 1, 0); /* n_tokens */
  }
  int32_t plan = fr_plan_new(dev, pb.blob, pb_finish(&pb));
  check(plan > 0 && rc_repack == 0, "mul_mat group plan: %d %s", plan, plan > 0 ? "" : fr_last_error());
  if (plan <= 0) return;
  float *got[N_OPS];
  for (uint32_t i = 0; i < N_OPS; i++) got[i] = malloc((size_t)y_floats[i] * 4 + nc * max_t * 4);
  for (uint32_t nt = 1; nt <= max_t; nt += 2) {
    memcpy(x.p, x0, nc * max_t * 4);
    int32_t rc = fr_plan_run(plan, (int32_t)nt, 0, 0, 0);
    for (uint32_t i = 0; i < N_OPS; i++) memcpy(got[i], y[i].p, (size_t)rows[i] * nt * 4);
    memcpy(x.p, x0, nc * max_t * 4);
    int same = rc == 0;
    for (uint32_t i = 0; i < N_OPS; i++) {
      fr_mul_mat_params ep = mp[i];
      ep.n_tokens = nt;
      if (run_op(names[i], &ep, sizeof ep, 3, bind[i]) != 0 || memcmp(got[i], y[i].p, (size_t)rows[i] * nt * 4))
        same = 0;
    }
    check(same, "mul_mat group in a plan (%u tokens) equals eager dispatch bitwise (rc %d %s)", nt, rc,
          rc ? fr_last_error() : "");
  }
  check(fr_plan_free(plan) == 0, "free the mul_mat group plan");
  for (uint32_t i = 0; i < N_OPS; i++) {
    free(got[i]);
    free_buf(w[i]);
    if (i != 2) free_buf(y[i]);
  }
  free(x0);
  free_buf(w0r), free_buf(x);
}

/* open file descriptors of this process */
static int count_fds(void) {
  int n = 0;
  char path[64];
  for (int fd = 0; fd < 1024; fd++) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (access(path, F_OK) == 0) n++;
  }
  return n;
}

/* get_rows from a table in a file mapping (token_embd): up to 16 rows come
 * through pread of the file, more through the mapping; both must give the
 * bits of the same table in an owned buffer, from a binding offset inside
 * a wrapped buffer that itself starts inside the file. The map holds the
 * file open until it is closed, and no longer. */
static void test_get_rows_mapped(void) {
  const qtype *t = qtype_named("q4_0");
  if (!supported("get_rows_q4_0")) return;
  const uint32_t nc = 64, nv = 300, rb = nc / t->blck * t->size, skip = 100, bind_at = 2 * rb;
  buf table = new_buf((int64_t)rb * nv);
  fill_weights(t, table.p, (size_t)nc * nv);
  char path[] = "/tmp/ferrum_get_rows_XXXXXX";
  int fd = mkstemp(path);
  uint8_t head[100];
  memset(head, 0xa5, sizeof head);
  int ok = fd >= 0 && write(fd, head, skip) == (ssize_t)skip &&
           write(fd, table.p, (size_t)rb * nv) == (ssize_t)((size_t)rb * nv);
  if (fd >= 0) close(fd);
  const int fds0 = count_fds();
  int32_t map = ok ? fr_map_file(dev, path) : -1;
  check(map > 0 && count_fds() == fds0 + 1, "a map holds its file open (%d -> %d fds)", fds0, count_fds());
  int32_t wrapped = map > 0 ? fr_buffer_wrap(dev, map, skip, (int64_t)rb * nv) : -1;
  buf wb = {wrapped, wrapped > 0 ? fr_buffer_contents(wrapped) : NULL, (int64_t)rb * nv};
  static const uint32_t counts[] = {1, 5, 16, 17, 40};
  for (size_t c = 0; c < sizeof counts / sizeof counts[0] && wrapped > 0; c++) {
    const uint32_t nr = counts[c];
    buf ids = new_buf(nr * 4), want = new_buf(nr * nc * 4), got = new_buf(nr * nc * 4);
    /* rows from the far end backwards, past the binding's first rows */
    for (uint32_t r = 0; r < nr; r++) ((int32_t *)ids.p)[r] = (int32_t)((nv - 4 - 7 * r) % (nv - 2));
    fr_get_rows_params p = {nc, nr, nv - 2, rb};
    /* the owned table bound at the same row offset */
    const uint64_t offsets[3] = {bind_at, 0, 0};
    const buf bw[3] = {table, ids, want}, bg[3] = {wb, ids, got};
    memset(want.p, 0, nr * nc * 4), memset(got.p, 0xff, nr * nc * 4);
    const int32_t rw = run_op_at("get_rows_q4_0", &p, sizeof p, 3, bw, offsets);
    const int32_t rg = run_op_at("get_rows_q4_0", &p, sizeof p, 3, bg, offsets);
    check(rw == 0 && rg == 0 && !memcmp(want.p, got.p, nr * nc * 4), "get_rows of %u rows from a file mapping: %s", nr,
          rw || rg ? fr_last_error() : "");
    free_buf(ids), free_buf(want), free_buf(got);
  }
  check(wrapped > 0 && fr_buffer_free(wrapped) == 0 && fr_map_close(map) == 0 && count_fds() == fds0,
        "closing the map closes its file");
  unlink(path);
  free_buf(table);
}

static void test_errors(void) {
  check(fr_abi_version() == FR_ABI_VERSION, "abi version");
  check(fr_buffer_size(123456) == FR_E_INVALID && strstr(fr_last_error(), "bad buffer handle"), "bad buffer handle: %s",
        fr_last_error());
  check(fr_buffer_contents(0) == NULL, "buffer 0 has no contents");
  check(fr_device_threads(dev + 1) < 0, "bad device handle");

  int32_t k = fr_kernel(dev, "no_such_kernel_xyz");
  check(k == FR_E_UNSUPPORTED && strstr(fr_last_error(), "no_such_kernel_xyz"), "unknown kernel: %s", fr_last_error());
  for (size_t ti = 0; ti < N_QTYPES; ti++) {
    char name[32];
    snprintf(name, sizeof name, "mul_mat_%s", qtypes[ti].name);
    k = fr_kernel(dev, name);
    if (k < 0) {
      check(k == FR_E_UNSUPPORTED && strstr(fr_last_error(), qtypes[ti].name), "unsupported type names it: %s",
            fr_last_error());
      break;
    }
  }

  /* out-of-range binding */
  buf x = new_buf(64 * 4), w = new_buf(64 * 4), y = new_buf(64 * 4);
  fr_rms_norm_params np = {64, 2, 1e-5f, 0};
  buf b[3] = {x, w, y};
  int32_t rc = run_op("rms_norm_f32", &np, sizeof np, 3, b);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "rms_norm_f32") && strstr(fr_last_error(), "binding 0 (src)"),
        "binding too small: %s", fr_last_error());
  np.n_rows = 1;
  fr_op op = make_op(kernel("rms_norm_f32"), &np, sizeof np, 3, b, (const uint64_t[]){0, 0, 64 * 4 + 4});
  rc = fr_dispatch(dev, (const uint8_t *)&op, (const uint8_t *)&np, sizeof np, 1);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "offset"), "offset past end: %s", fr_last_error());
  op = make_op(kernel("rms_norm_f32"), &np, sizeof np, 3, b, (const uint64_t[]){4, 0, 0});
  rc = fr_dispatch(dev, (const uint8_t *)&op, (const uint8_t *)&np, sizeof np, 1);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "binding 0"), "offset leaves too few bytes: %s", fr_last_error());
  op = make_op(kernel("rms_norm_f32"), &np, sizeof np, 2, b, NULL);
  rc = fr_dispatch(dev, (const uint8_t *)&op, (const uint8_t *)&np, sizeof np, 1);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "bindings"), "wrong binding count: %s", fr_last_error());
  rc = fr_dispatch(dev, (const uint8_t *)&op, (const uint8_t *)&np, 4, 1);
  check(rc == FR_E_INVALID, "params size mismatch: %s", fr_last_error());

  /* token ids */
  buf table = new_buf(10 * 8 * 4), ids = new_buf(3 * 4), dst = new_buf(3 * 8 * 4);
  fr_get_rows_params gp = {8, 3, 10, 32};
  buf gb[3] = {table, ids, dst};
  ((int32_t *)ids.p)[0] = 1, ((int32_t *)ids.p)[1] = 10, ((int32_t *)ids.p)[2] = 2;
  rc = run_op("get_rows_f32", &gp, sizeof gp, 3, gb);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "token id 10"), "token id >= n_vocab: %s", fr_last_error());
  ((int32_t *)ids.p)[1] = -1;
  rc = run_op("get_rows_f32", &gp, sizeof gp, 3, gb);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "token id -1"), "negative token id: %s", fr_last_error());
  gp.row_bytes = 31;
  ((int32_t *)ids.p)[1] = 0;
  rc = run_op("get_rows_f32", &gp, sizeof gp, 3, gb);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "row_bytes"), "bad row_bytes: %s", fr_last_error());

  /* KV store past the cache */
  fr_kv_store_params kp = {8, 2, 9, 10, 8, 0};
  buf kb[2] = {dst, table};
  rc = run_op("cpy_f32_f32", &kp, sizeof kp, 2, kb);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "cache"), "kv store past n_ctx: %s", fr_last_error());
  fr_attn_params ap = {4, 3, 8, 1, 0, 4, 1, 0};
  buf ab[4] = {x, table, table, y};
  rc = run_op("attn_f32", &ap, sizeof ap, 4, ab);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "multiple"), "attn with n_head %% n_head_kv != 0: %s",
        fr_last_error());

  /* file mappings: read-only, and kept alive by the buffers wrapping them */
  char path[] = "/tmp/ferrum_runtime_check_XXXXXX";
  int fd = mkstemp(path);
  float data[64];
  for (int i = 0; i < 64; i++) data[i] = (float)i;
  check(fd >= 0 && write(fd, data, sizeof data) == (ssize_t)sizeof data, "temp file");
  close(fd);
  int32_t map = fr_map_file(dev, path);
  check(map > 0 && fr_map_size(map) == (int64_t)sizeof data, "map file: %s", map > 0 ? "" : fr_last_error());
  int32_t wrapped = fr_buffer_wrap(dev, map, 64, 128);
  check(wrapped > 0 && fr_buffer_size(wrapped) == 128 && ((float *)fr_buffer_contents(wrapped))[0] == 16.0f,
        "wrap is a zero-copy view at the offset");
  check(fr_buffer_wrap(dev, map, 200, 100) == FR_E_INVALID && strstr(fr_last_error(), "outside"),
        "wrap past the end: %s", fr_last_error());
  check(fr_map_close(map) == FR_E_INVALID && strstr(fr_last_error(), "wrapped"), "map close while wrapped: %s",
        fr_last_error());
  buf wb = {wrapped, fr_buffer_contents(wrapped), 128};
  fr_binary_params bp = {8, 8};
  buf ro[3] = {x, w, wb};
  rc = run_op("add_f32", &bp, sizeof bp, 3, ro);
  check(rc == FR_E_INVALID && strstr(fr_last_error(), "read-only"), "writing into a mapping refused: %s",
        fr_last_error());
  buf rd[3] = {wb, w, y};
  rc = run_op("add_f32", &bp, sizeof bp, 3, rd);
  check(rc == 0 && ((float *)y.p)[1] == 17.0f + ((float *)w.p)[1], "reading from a mapping works");
  check(fr_device_close(dev) == FR_E_INVALID && strstr(fr_last_error(), "live"), "device close with live objects: %s",
        fr_last_error());
  check(fr_buffer_free(wrapped) == 0 && fr_map_close(map) == 0, "unwrap then close");
  check(fr_map_close(map) == FR_E_INVALID, "double map close");
  unlink(path);
  check(fr_map_file(dev, "/nonexistent/ferrum.gguf") == FR_E_IO && strstr(fr_last_error(), "/nonexistent/ferrum.gguf"),
        "missing file: %s", fr_last_error());
  check(fr_buffer_new(dev, -1) == FR_E_INVALID, "negative buffer size");

  free_buf(x), free_buf(w), free_buf(y), free_buf(table), free_buf(ids), free_buf(dst);
}

/* ---------- buffers carved from slabs (buffer.c) ---------- */

/* Big buffers share 2 MiB-aligned slabs: each one zeroed, 64-byte aligned,
 * apart from its neighbours, and a slab emptied and refilled in any order
 * hands out zeroed memory again; one bigger than a slab gets its own. */
static void test_slab_buffers(void) {
  int32_t d = fr_device_open(1);
  enum { N = 40 };
  const int64_t sizes[N / 4] = {64 << 10, (64 << 10) + 1, 100000, 3 << 20, 5 << 20, 1, 777, 9 << 20, 40 << 20, 70 << 20};
  int32_t h[N];
  int ok_zero = 1, ok_align = 1, ok_apart = 1;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      const int64_t n = sizes[i % (N / 4)];
      h[i] = fr_buffer_new(d, n);
      uint8_t *p = fr_buffer_contents(h[i]);
      if (!p) {
        ok_zero = 0;
        continue;
      }
      for (int64_t k = 0; k < n; k += 4093) ok_zero &= p[k] == 0;
      ok_zero &= p[n - 1] == 0;
      ok_align &= ((uintptr_t)p & 63) == 0;
      memset(p, 0xa5, (size_t)n); /* dirty it: a reused range would show */
    }
    for (int i = 0; i < N; i++) {
      const uint8_t *p = fr_buffer_contents(h[i]);
      const int64_t n = sizes[i % (N / 4)];
      ok_apart &= p && p[0] == 0xa5 && p[n - 1] == 0xa5;
    }
    /* free every other one, then the rest backwards */
    for (int i = 0; i < N; i += 2) fr_buffer_free(h[i]);
    for (int i = N - 1; i > 0; i -= 2) fr_buffer_free(h[i]);
  }
  check(ok_zero, "slab buffers come zeroed, also after a slab was emptied and refilled");
  check(ok_align, "slab buffers are 64-byte aligned");
  check(ok_apart, "slab buffers do not overlap");
  const int32_t last = fr_buffer_new(d, 1 << 20);
  check(last > 0 && fr_device_close(d) == FR_E_INVALID, "a device with a live slab buffer does not close");
  check(fr_buffer_free(last) == 0 && fr_device_close(d) == 0, "and closes once it is freed: %s", fr_last_error());
}

/* ---------- threads ---------- */

/* the same op on 1 and N threads gives the same bits: prefill tiles, and
 * one token (decode's per-thread regions, the threads taking from each
 * other's, and a last unit of fewer than 8 rows) */
static void test_threads_vs_single(void) {
  const uint32_t cases[][3] = {{256, 300, 37}, {256, 300, 1}, {256, 1003, 1}, {4096, 61, 1}};
  int32_t devs[2] = {dev, fr_device_open(1)};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const uint32_t nc = cases[c][0], nr = cases[c][1], nt = cases[c][2];
    float *wd = malloc((size_t)nc * nr * 4), *xd = malloc((size_t)nc * nt * 4), *res[2];
    fill(wd, (size_t)nc * nr, 1), fill(xd, (size_t)nc * nt, 1);
    int32_t rc[2];
    for (int i = 0; i < 2; i++) {
      int32_t saved = dev;
      dev = devs[i];
      buf w = new_buf((int64_t)nc * nr * 4), x = new_buf((int64_t)nc * nt * 4), y = new_buf((int64_t)nr * nt * 4);
      memcpy(w.p, wd, (size_t)nc * nr * 4), memcpy(x.p, xd, (size_t)nc * nt * 4);
      fr_mul_mat_params p = {nc, nr, nt, nc * 4};
      buf b[3] = {w, x, y};
      rc[i] = run_op("mul_mat_f32", &p, sizeof p, 3, b);
      res[i] = malloc((size_t)nr * nt * 4);
      memcpy(res[i], y.p, (size_t)nr * nt * 4);
      free_buf(w), free_buf(x), free_buf(y);
      dev = saved;
    }
    check(rc[0] == 0 && rc[1] == 0 && !memcmp(res[0], res[1], (size_t)nr * nt * 4),
          "mul_mat %ux%u x %u tokens: %d threads and 1 thread agree bitwise", nr, nc, nt, fr_device_threads(dev));
    free(res[0]), free(res[1]), free(wd), free(xd);
  }
  check(fr_device_close(devs[1]) == 0, "close the second device");
}

int main(void) {
  dev = fr_device_open(2);
  if (dev <= 0) {
    printf("fatal: fr_device_open: %s\n", fr_last_error());
    return 2;
  }
  printf("device: %s\n", fr_device_name(dev));
  test_rms_norm();
  test_binary();
  test_rope();
  test_softmax();
  test_swiglu();
  test_kv_store();
  test_get_rows();
  test_get_rows_mapped();
  test_mul_mat();
  test_attn();
  test_plan();
  test_plan_mul_mat_group();
  test_errors();
  test_threads_vs_single();
  test_slab_buffers();
  check(fr_device_close(dev) == 0, "device closes once empty: %s", fr_last_error());
  printf("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
