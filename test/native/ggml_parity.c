/*
 * ggml_parity.c — ferrum's CPU kernels against the peer itself: the ggml
 * CPU backend that node-llama-cpp 3.22.1 ships (libggml-base.so +
 * libggml-cpu-haswell.so, the AVX2 variant it loads on x86-64 without
 * AVX-512), on the same inputs. Ferrum mirrors ggml's rounding steps —
 * its summation orders (vec_dot for one token, llamafile_sgemm for more),
 * its vectorised expf (softmax, swiglu, tiled attention), its f16
 * attention accumulator — so the results must be identical bit for bit.
 * Only the K-quant dot products (another summation order) are held to a
 * few float ulps. A model's logits are bitwise llama.cpp's exactly when
 * every op here is.
 *
 * Only the handful of ggml entry points used here are declared below, from
 * ggml.h of the matching release; tensors stay opaque.
 * Prints "N passed, M failed"; exits non-zero when anything failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../metal/ferrum_params.h"
#include "../../native-shim/include/ferrum_shim.h"

/* ---- the ggml API subset (ggml.h / ggml-cpu.h, release v0.5.0) ---- */
struct ggml_context;
struct ggml_tensor;
struct ggml_cgraph;
struct ggml_init_params {
  size_t mem_size;
  void *mem_buffer;
  bool no_alloc;
};
enum { G_F32 = 0, G_F16 = 1, G_Q4_0 = 2, G_Q5_0 = 6, G_Q8_0 = 8, G_Q4_K = 12, G_Q6_K = 14, G_I32 = 26, G_BF16 = 30 };
struct ggml_context *ggml_init(struct ggml_init_params params);
void ggml_free(struct ggml_context *ctx);
struct ggml_tensor *ggml_new_tensor_1d(struct ggml_context *, int type, int64_t ne0);
struct ggml_tensor *ggml_new_tensor_2d(struct ggml_context *, int type, int64_t ne0, int64_t ne1);
struct ggml_tensor *ggml_new_tensor_3d(struct ggml_context *, int type, int64_t ne0, int64_t ne1, int64_t ne2);
void *ggml_get_data(const struct ggml_tensor *);
size_t ggml_nbytes(const struct ggml_tensor *);
size_t ggml_row_size(int type, int64_t ne);
size_t ggml_quantize_chunk(int type, const float *src, void *dst, int64_t start, int64_t nrows, int64_t n_per_row,
                           const float *imatrix);
struct ggml_tensor *ggml_permute(struct ggml_context *, struct ggml_tensor *, int, int, int, int);
struct ggml_tensor *ggml_cast(struct ggml_context *, struct ggml_tensor *, int type);
struct ggml_tensor *ggml_cpy(struct ggml_context *, struct ggml_tensor *, struct ggml_tensor *);
struct ggml_tensor *ggml_mul(struct ggml_context *, struct ggml_tensor *, struct ggml_tensor *);
struct ggml_tensor *ggml_rms_norm(struct ggml_context *, struct ggml_tensor *, float eps);
struct ggml_tensor *ggml_rope_ext(struct ggml_context *, struct ggml_tensor *a, struct ggml_tensor *pos,
                                  struct ggml_tensor *freq_factors, int n_dims, int mode, int n_ctx_orig,
                                  float freq_base, float freq_scale, float ext_factor, float attn_factor,
                                  float beta_fast, float beta_slow);
struct ggml_tensor *ggml_soft_max_ext(struct ggml_context *, struct ggml_tensor *a, struct ggml_tensor *mask,
                                      float scale, float max_bias);
struct ggml_tensor *ggml_swiglu_split(struct ggml_context *, struct ggml_tensor *a, struct ggml_tensor *b);
struct ggml_tensor *ggml_get_rows(struct ggml_context *, struct ggml_tensor *a, struct ggml_tensor *b);
struct ggml_tensor *ggml_mul_mat(struct ggml_context *, struct ggml_tensor *a, struct ggml_tensor *b);
struct ggml_tensor *ggml_flash_attn_ext(struct ggml_context *, struct ggml_tensor *q, struct ggml_tensor *k,
                                        struct ggml_tensor *v, struct ggml_tensor *mask, float scale,
                                        float max_bias, float logit_softcap);
struct ggml_cgraph *ggml_new_graph(struct ggml_context *);
void ggml_build_forward_expand(struct ggml_cgraph *, struct ggml_tensor *);
int ggml_graph_compute_with_ctx(struct ggml_context *, struct ggml_cgraph *, int n_threads);
void ggml_cpu_init(void);
uint16_t ggml_fp32_to_fp16(float);

/* ---- harness ---- */
static int n_passed, n_failed;
static int32_t dev;
static uint64_t rng = 88172645463325252ull;

static float frand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

static struct ggml_context *gctx(void) {
  struct ggml_init_params p = {256u << 20, NULL, false};
  return ggml_init(p);
}

static void compute(struct ggml_context *c, struct ggml_tensor *t, int n_threads) {
  struct ggml_cgraph *g = ggml_new_graph(c);
  ggml_build_forward_expand(g, t);
  ggml_graph_compute_with_ctx(c, g, n_threads);
}

static int32_t buf_from(const void *src, size_t n) {
  int32_t h = fr_buffer_new(dev, (int64_t)n);
  if (h <= 0) {
    printf("fatal: fr_buffer_new: %s\n", fr_last_error());
    exit(2);
  }
  if (src) memcpy(fr_buffer_contents(h), src, n);
  return h;
}

static float *contents(int32_t h) { return fr_buffer_contents(h); }

static int run(const char *name, const void *params, uint32_t size, int n, const int32_t *bufs) {
  fr_op op;
  memset(&op, 0, sizeof op);
  op.kernel = fr_kernel(dev, name);
  op.n_bindings = (uint32_t)n;
  op.params_size = size;
  for (int i = 0; i < n; i++) op.bindings[i].buffer = bufs[i];
  int rc = op.kernel > 0 ? fr_dispatch(dev, (const uint8_t *)&op, params, (int32_t)size, 1) : op.kernel;
  if (rc) printf("  %s: %s\n", name, fr_last_error());
  return rc;
}

/* max_abs < 0: must be identical bit for bit; otherwise an absolute bound */
static void compare(const char *what, int rc, const float *ours, const float *ggml, size_t n, double max_abs) {
  size_t same = 0;
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    if (!memcmp(&ours[i], &ggml[i], 4)) same++;
    double d = fabs((double)ours[i] - ggml[i]);
    if (!(d <= worst)) worst = d; /* NaN sticks */
  }
  int ok = rc == 0 && (max_abs < 0 ? same == n : worst <= max_abs);
  if (ok) n_passed++;
  else n_failed++;
  printf("%s %-48s bitwise %6.2f%%  max abs diff %.3g%s\n", ok ? "ok  " : "FAIL", what, 100.0 * same / n, worst,
         max_abs < 0 ? "  (must be bitwise)" : "");
}

static void bytes_equal(const char *what, int rc, const void *ours, const void *ggml, size_t n) {
  int ok = rc == 0 && !memcmp(ours, ggml, n);
  if (ok) n_passed++;
  else n_failed++;
  printf("%s %-48s %s\n", ok ? "ok  " : "FAIL", what, ok ? "bytes identical" : "bytes differ");
}

/* ---- ops ---- */

/* x NULL: random rows */
static void p_rms_norm_x(int nc, int nr, const float *x0, float eps, const char *tag) {
  struct ggml_context *c = gctx();
  struct ggml_tensor *x = ggml_new_tensor_2d(c, G_F32, nc, nr), *w = ggml_new_tensor_1d(c, G_F32, nc);
  float *xp = ggml_get_data(x), *wp = ggml_get_data(w);
  for (int i = 0; i < nc * nr; i++) xp[i] = x0 ? x0[i] : frand() * 3;
  for (int i = 0; i < nc; i++) wp[i] = frand();
  struct ggml_tensor *y = ggml_mul(c, ggml_rms_norm(c, x, eps), w);
  compute(c, y, 2);
  int32_t b[3] = {buf_from(xp, (size_t)nc * nr * 4), buf_from(wp, (size_t)nc * 4), buf_from(NULL, (size_t)nc * nr * 4)};
  fr_rms_norm_params p = {(uint32_t)nc, (uint32_t)nr, eps, 0};
  char what[80];
  snprintf(what, sizeof what, "rms_norm_f32 %dx%d%s", nc, nr, tag);
  compare(what, run("rms_norm_f32", &p, sizeof p, 3, b), contents(b[2]), ggml_get_data(y), (size_t)nc * nr, -1);
  for (int i = 0; i < 3; i++) fr_buffer_free(b[i]);
  ggml_free(c);
}
static void p_rms_norm(int nc, int nr) { p_rms_norm_x(nc, nr, NULL, 1e-5f, ""); }

/* A row whose mean square rounds differently when the squares are added in
 * 32 interleaved sums (ops_norm.c's first try) than left to right (ggml):
 * left to right, every tiny square after the 1 is under half an ulp and
 * lost, and the sum 1 + 2^-24 gives a mean exactly between two floats
 * (ties to even: down); in interleaved sums the tiny squares pair up to
 * 0.72 ulp and each pair rounds the sum up, so the mean rounds up. The
 * kernel must notice it is that close and add in ggml's order. */
static void p_rms_norm_order(void) {
  enum { N = 64 };
  float x[N];
  x[0] = 1.0f, x[1] = ldexpf(1.0f, -12);
  for (int i = 2; i < N; i++) x[i] = 1.2f * ldexpf(1.0f, -27);
  double in_order = 0, lanes[32] = {0}, interleaved = 0;
  for (int i = 0; i < N; i++) in_order += (double)(x[i] * x[i]), lanes[i % 32] += (double)(x[i] * x[i]);
  for (int j = 0; j < 32; j++) interleaved += lanes[j];
  const int differ = (float)(in_order / N) != (float)(interleaved / N);
  if (differ) n_passed++;
  else n_failed++;
  printf("%s %-48s\n", differ ? "ok  " : "FAIL", "rms_norm order case: the two orders' means differ");
  p_rms_norm_x(N, 1, x, 1e-6f, " (summation order)");
}
static void p_rope(int hd, int nd, int nh, int nt, int pos0, int mode, float freq_scale) {
  struct ggml_context *c = gctx();
  struct ggml_tensor *x = ggml_new_tensor_3d(c, G_F32, hd, nh, nt), *pos = ggml_new_tensor_1d(c, G_I32, nt);
  float *xp = ggml_get_data(x);
  size_t n = (size_t)hd * nh * nt;
  for (size_t i = 0; i < n; i++) xp[i] = frand();
  for (int i = 0; i < nt; i++) ((int32_t *)ggml_get_data(pos))[i] = pos0 + i;
  struct ggml_tensor *y = ggml_rope_ext(c, x, pos, NULL, nd, mode, 0, 10000.0f, freq_scale, 0.0f, 1.0f, 32.0f, 1.0f);
  compute(c, y, 2);
  int32_t b[2] = {buf_from(xp, n * 4), buf_from(NULL, n * 4)};
  fr_rope_params p = {(uint32_t)hd, (uint32_t)nd, (uint32_t)nh, (uint32_t)nt, (uint32_t)pos0, (uint32_t)mode, 10000.0f,
                      freq_scale};
  char what[80];
  snprintf(what, sizeof what, "rope_f32 mode %d dims %d/%d pos %d..%d", mode, nd, hd, pos0, pos0 + nt - 1);
  compare(what, run("rope_f32", &p, sizeof p, 2, b), contents(b[1]), ggml_get_data(y), n, -1);
  for (int i = 0; i < 2; i++) fr_buffer_free(b[i]);
  ggml_free(c);
}

static void p_softmax(int nc, int nr, float scale) {
  struct ggml_context *c = gctx();
  struct ggml_tensor *x = ggml_new_tensor_2d(c, G_F32, nc, nr);
  float *xp = ggml_get_data(x);
  for (int i = 0; i < nc * nr; i++) xp[i] = frand() * 6;
  struct ggml_tensor *y = ggml_soft_max_ext(c, x, NULL, scale, 0.0f);
  compute(c, y, 2);
  int32_t b[2] = {buf_from(xp, (size_t)nc * nr * 4), buf_from(NULL, (size_t)nc * nr * 4)};
  fr_softmax_params p = {(uint32_t)nc, (uint32_t)nr, scale, 0};
  char what[80];
  snprintf(what, sizeof what, "soft_max_f32 %dx%d", nc, nr);
  compare(what, run("soft_max_f32", &p, sizeof p, 2, b), contents(b[1]), ggml_get_data(y), (size_t)nc * nr, -1);
  for (int i = 0; i < 2; i++) fr_buffer_free(b[i]);
  ggml_free(c);
}

/* swiglu over n_ff x tokens, as the FFN runs it; some gates are large
 * enough to take ggml's expf through its overflow/underflow branches */
static void p_swiglu(int nc, int nr) {
  struct ggml_context *c = gctx();
  const int n = nc * nr;
  struct ggml_tensor *g = ggml_new_tensor_2d(c, G_F32, nc, nr), *u = ggml_new_tensor_2d(c, G_F32, nc, nr);
  float *gp = ggml_get_data(g), *up = ggml_get_data(u);
  for (int i = 0; i < n; i++) gp[i] = frand() * (i % 13 == 0 ? 200 : 6), up[i] = frand();
  struct ggml_tensor *y = ggml_swiglu_split(c, g, u);
  compute(c, y, 2);
  int32_t b[3] = {buf_from(gp, (size_t)n * 4), buf_from(up, (size_t)n * 4), buf_from(NULL, (size_t)n * 4)};
  fr_glu_params p = {(uint32_t)n, 0};
  char what[80];
  snprintf(what, sizeof what, "swiglu_f32 %dx%d", nc, nr);
  compare(what, run("swiglu_f32", &p, sizeof p, 3, b), contents(b[2]), ggml_get_data(y), (size_t)n, -1);
  for (int i = 0; i < 3; i++) fr_buffer_free(b[i]);
  ggml_free(c);
}

static void p_kv_store(const char *kv, int type, int nc) {
  struct ggml_context *c = gctx();
  struct ggml_tensor *x = ggml_new_tensor_1d(c, G_F32, nc), *y = ggml_new_tensor_1d(c, type, nc);
  float *xp = ggml_get_data(x);
  for (int i = 0; i < nc; i++) xp[i] = frand() * 5;
  compute(c, ggml_cpy(c, x, y), 1);
  size_t bytes = ggml_nbytes(y);
  int32_t b[2] = {buf_from(xp, (size_t)nc * 4), buf_from(NULL, bytes)};
  fr_kv_store_params p = {(uint32_t)nc, 1, 0, 1, (uint32_t)nc, 0};
  char name[32];
  snprintf(name, sizeof name, "cpy_f32_%s", kv);
  bytes_equal(name, run(name, &p, sizeof p, 2, b), fr_buffer_contents(b[1]), ggml_get_data(y), bytes);
  for (int i = 0; i < 2; i++) fr_buffer_free(b[i]);
  ggml_free(c);
}

/* flash attention as llama.cpp builds it: Q [d, n_head, tokens] permuted,
 * K/V [d, n_kv, n_head_kv] (llama.cpp's are views of [d, n_head_kv, n_kv]
 * caches; ferrum's head-major caches, gathered block by block), an f16
 * causal mask over a KV length padded to 256; an f32 cache is cast to f16
 * first */
static void p_attn(const char *kv, int nh, int nkv, int d, int nt, int pos0, double max_abs) {
  const int is_q8 = !strcmp(kv, "q8_0"), is_f32 = !strcmp(kv, "f32");
  const int gtype = is_q8 ? G_Q8_0 : is_f32 ? G_F32 : G_F16;
  int n_kv = 256;
  while (n_kv < pos0 + nt) n_kv += 256;
  const int kvw = nkv * d;
  const size_t row = is_q8 ? (size_t)kvw / 32 * 34 : (size_t)kvw * (is_f32 ? 4 : 2);
  const size_t qn = (size_t)nt * nh * d;
  float *kf = malloc((size_t)n_kv * kvw * 4), *vf = malloc((size_t)n_kv * kvw * 4), *qf = malloc(qn * 4);
  for (size_t i = 0; i < (size_t)n_kv * kvw; i++) kf[i] = frand(), vf[i] = frand();
  for (size_t i = 0; i < qn; i++) qf[i] = frand() * 2;

  char store[32], name[32];
  snprintf(store, sizeof store, "cpy_f32_%s", kv);
  snprintf(name, sizeof name, "attn_%s", kv);
  int32_t src = buf_from(kf, (size_t)n_kv * kvw * 4), kc = buf_from(NULL, row * n_kv), vc = buf_from(NULL, row * n_kv);
  fr_kv_store_params sp = {(uint32_t)kvw, (uint32_t)n_kv, 0, (uint32_t)n_kv, (uint32_t)d, 0};
  int32_t sb[2] = {src, kc};
  int rc = run(store, &sp, sizeof sp, 2, sb);
  memcpy(fr_buffer_contents(src), vf, (size_t)n_kv * kvw * 4);
  sb[1] = vc;
  rc |= run(store, &sp, sizeof sp, 2, sb);
  int32_t q = buf_from(qf, qn * 4), o = buf_from(NULL, qn * 4);
  fr_attn_params p = {(uint32_t)nh, (uint32_t)nkv, (uint32_t)d, (uint32_t)nt, (uint32_t)pos0, (uint32_t)n_kv,
                      1.0f / sqrtf((float)d), 0};
  int32_t ab[4] = {q, kc, vc, o};
  rc |= run(name, &p, sizeof p, 4, ab);

  struct ggml_context *c = gctx();
  struct ggml_tensor *K = ggml_new_tensor_3d(c, gtype, d, n_kv, nkv), *V = ggml_new_tensor_3d(c, gtype, d, n_kv, nkv);
  struct ggml_tensor *Q = ggml_new_tensor_3d(c, G_F32, d, nh, nt), *M = ggml_new_tensor_2d(c, G_F16, n_kv, nt);
  /* ferrum's cache rows gathered into ggml's [d, n_kv, n_head_kv] (fr_kv_row) */
  const size_t hrow = row / (size_t)nkv;
  for (int g = 0; g < nkv; g++)
    for (int j = 0; j < n_kv; j++) {
      const size_t at = (size_t)fr_kv_row((uint32_t)g, (uint32_t)j, (uint32_t)nkv, (uint32_t)n_kv) * hrow;
      memcpy((uint8_t *)ggml_get_data(K) + ((size_t)g * n_kv + j) * hrow, (const uint8_t *)fr_buffer_contents(kc) + at, hrow);
      memcpy((uint8_t *)ggml_get_data(V) + ((size_t)g * n_kv + j) * hrow, (const uint8_t *)fr_buffer_contents(vc) + at, hrow);
    }
  memcpy(ggml_get_data(Q), qf, qn * 4);
  uint16_t *mask = ggml_get_data(M);
  for (int t = 0; t < nt; t++)
    for (int j = 0; j < n_kv; j++) mask[(size_t)t * n_kv + j] = ggml_fp32_to_fp16(j <= pos0 + t ? 0.0f : -INFINITY);
  if (is_f32) K = ggml_cast(c, K, G_F16), V = ggml_cast(c, V, G_F16);
  struct ggml_tensor *y = ggml_flash_attn_ext(c, ggml_permute(c, Q, 0, 2, 1, 3), K, V, M, 1.0f / sqrtf((float)d), 0.0f, 0.0f);
  compute(c, y, 2);
  char what[96];
  snprintf(what, sizeof what, "%s heads %d/%d dim %d tokens %d at %d", name, nh, nkv, d, nt, pos0);
  compare(what, rc, contents(o), ggml_get_data(y), qn, max_abs);
  ggml_free(c);
  free(kf), free(vf), free(qf);
  int32_t all[5] = {src, kc, vc, q, o};
  for (int i = 0; i < 5; i++) fr_buffer_free(all[i]);
}

/* max_abs as in compare(): -1 where ferrum sums in ggml's order */
static void p_rows_and_matmul(const char *tn, int type, int nc, int nr, int nt, double max_abs) {
  struct ggml_context *c = gctx();
  struct ggml_tensor *w = ggml_new_tensor_2d(c, type, nc, nr), *x = ggml_new_tensor_2d(c, G_F32, nc, nt);
  struct ggml_tensor *ids = ggml_new_tensor_1d(c, G_I32, 3);
  float *wf = malloc((size_t)nc * nr * 4), *xp = ggml_get_data(x);
  for (int i = 0; i < nc * nr; i++) wf[i] = frand();
  for (int i = 0; i < nc * nt; i++) xp[i] = frand();
  if (type == G_F32) memcpy(ggml_get_data(w), wf, (size_t)nc * nr * 4);
  else ggml_quantize_chunk(type, wf, ggml_get_data(w), 0, nr, nc, NULL);
  const int32_t pick[3] = {nr - 1, 0, nr / 2};
  memcpy(ggml_get_data(ids), pick, sizeof pick);
  struct ggml_tensor *rows = ggml_get_rows(c, w, ids), *y = ggml_mul_mat(c, w, x);
  compute(c, rows, 1);
  compute(c, y, 2);

  const uint32_t rb = (uint32_t)ggml_row_size(type, nc);
  int32_t wb = buf_from(ggml_get_data(w), ggml_nbytes(w));
  int32_t gb[3] = {wb, buf_from(pick, sizeof pick), buf_from(NULL, (size_t)3 * nc * 4)};
  fr_get_rows_params gp = {(uint32_t)nc, 3, (uint32_t)nr, rb};
  char name[32], what[80];
  snprintf(name, sizeof name, "get_rows_%s", tn);
  compare(name, run(name, &gp, sizeof gp, 3, gb), contents(gb[2]), ggml_get_data(rows), (size_t)3 * nc, -1);

  int32_t mb[3] = {wb, buf_from(xp, (size_t)nc * nt * 4), buf_from(NULL, (size_t)nr * nt * 4)};
  fr_mul_mat_params mp = {(uint32_t)nc, (uint32_t)nr, (uint32_t)nt, rb};
  snprintf(name, sizeof name, "mul_mat_%s", tn);
  snprintf(what, sizeof what, "%s %dx%d x %d tokens", name, nr, nc, nt);
  compare(what, run(name, &mp, sizeof mp, 3, mb), contents(mb[2]), ggml_get_data(y), (size_t)nr * nt, max_abs);
  fr_buffer_free(gb[1]), fr_buffer_free(gb[2]), fr_buffer_free(mb[1]), fr_buffer_free(mb[2]), fr_buffer_free(wb);
  free(wf);
  ggml_free(c);
}

/*
 * `ggml_parity bf16`: BF16 weights only, against ggml's zen4 build
 * (AVX-512 BF16) and ferrum's avx512bf16 variant, where vdpbf16ps sums.
 * The other ops of those two builds take AVX-512 routes the rest of this
 * file does not model (ggml's 16-lane f32/f16 paths), so only BF16 runs.
 * Row lengths on and off tinyBLAS's step of 32 (off it: vec_dot), and
 * past vec_dot's runs of 64 (its scalar tail).
 */
static int bf16_only(void) {
  static const int shapes[][3] = {{256, 64, 1}, {256, 64, 7}, {128, 64, 55}, {96, 64, 5}, {80, 64, 5},
                                  {77, 64, 3}, {160, 8, 1}, {2048, 16, 4}, {100, 12, 1}};
  for (int k = 0; k < (int)(sizeof shapes / sizeof shapes[0]); k++)
    p_rows_and_matmul("bf16", G_BF16, shapes[k][0], shapes[k][1], shapes[k][2], -1);
  fr_device_close(dev);
  printf("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}

int main(int argc, char **argv) {
  ggml_cpu_init();
  dev = fr_device_open(2);
  if (dev <= 0) {
    printf("fatal: %s\n", fr_last_error());
    return 2;
  }
  if (argc > 1 && strcmp(argv[1], "bf16") == 0) return bf16_only();
  p_rms_norm(4096, 3), p_rms_norm(128, 5), p_rms_norm(37, 2), p_rms_norm_order();
  p_rope(64, 64, 4, 3, 0, 0, 1.0f), p_rope(64, 64, 4, 3, 1000, 0, 1.0f), p_rope(128, 128, 2, 5, 77, 2, 1.0f);
  p_rope(80, 32, 3, 5, 9, 2, 0.25f), p_rope(16, 16, 8, 4, 300, 0, 1.0f);
  /* groups of 8 through ggml's vectorised expf, the rest through expf */
  p_softmax(1000, 3, 0.5f), p_softmax(13, 2, 1.0f), p_softmax(256, 7, 30.0f);
  p_swiglu(10007, 1), p_swiglu(384, 55), p_swiglu(1024, 3), p_swiglu(5, 1);
  p_kv_store("f16", G_F16, 4096);
  p_kv_store("q8_0", G_Q8_0, 4096);
  /* attention at the head sizes models use, 16 and 48 included: ggml's f16
   * helpers work in steps of 32, so those go (partly) through their scalar
   * tails. Online route (fewer than 64 query tokens; decode at 1) and tiled
   * route (64+, f16/f32 caches); tolstoy-tiny is 8/4 heads of 16. */
  static const int dims[] = {16, 48, 64, 128};
  for (int i = 0; i < 4; i++) {
    const int d = dims[i];
    p_attn("f16", 8, 4, d, 1, 0, -1), p_attn("f16", 8, 4, d, 1, 100, -1), p_attn("f16", 8, 4, d, 55, 0, -1);
    p_attn("f16", 8, 4, d, 5, 37, -1), p_attn("f16", 8, 4, d, 70, 0, -1), p_attn("f16", 8, 4, d, 130, 10, -1);
    p_attn("f32", 8, 4, d, 55, 0, -1), p_attn("f32", 8, 4, d, 64, 100, -1);
  }
  p_attn("f16", 4, 2, 12, 65, 0, -1), p_attn("f16", 8, 8, 128, 1, 150, -1), p_attn("f16", 8, 4, 32, 1, 200, -1);
  /* the online route scores up to four query heads of a KV head together:
   * 8 per KV head (two bundles of four, TinyLlama's decode), 6 (four and
   * two), 3 and 5 (a bundle of three; four and one) */
  p_attn("f16", 32, 4, 64, 1, 100, -1), p_attn("f16", 12, 2, 48, 3, 20, -1), p_attn("f32", 12, 4, 16, 1, 70, -1);
  p_attn("f16", 10, 2, 128, 2, 40, -1), p_attn("f32", 10, 2, 64, 1, 9, -1);
  /* quantized cache: q8_0 K dots (ggml's vec_dot order), f32 V accumulator */
  p_attn("q8_0", 8, 4, 32, 1, 50, -1), p_attn("q8_0", 8, 4, 64, 70, 0, -1), p_attn("q8_0", 8, 4, 128, 20, 5, -1);
  /* caches of more than one block of positions (FR_KV_BLOCK_ROWS), both routes */
  p_attn("f16", 8, 4, 64, 3, 1100, -1), p_attn("f16", 8, 4, 128, 70, 1000, -1), p_attn("f32", 8, 2, 64, 64, 1030, -1);
  p_attn("q8_0", 8, 4, 64, 2, 1300, -1), p_attn("f16", 16, 8, 128, 5, 2100, -1);
  /* weights: 1 token goes through ggml's vec_dot, 2+ through
   * llamafile_sgemm (f32/f16/bf16 need rows % 4 == 0 and cols % 8 == 0,
   * else vec_dot again; the quantized types sum alike either way); the
   * tolstoy-tiny shapes (128 -> 64/128/384/512, 384 -> 128) at 55 tokens;
   * 68 rows x 70 tokens: eight-row float tiles then a four-row one (AVX-512
   * builds), two token blocks of mul_mat's tiles */
  static const struct { const char *tn; int type; } wt[] = {
      {"f32", G_F32}, {"f16", G_F16}, {"bf16", G_BF16}, {"q8_0", G_Q8_0}, {"q5_0", G_Q5_0}, {"q4_0", G_Q4_0}};
  static const int shapes[][3] = {{256, 64, 1}, {256, 64, 7}, {128, 64, 55}, {128, 384, 55}, {384, 128, 55},
                                  {128, 512, 2}, {256, 62, 5}, {160, 8, 1}, {128, 68, 70}};
  for (int t = 0; t < 6; t++)
    for (int k = 0; k < (int)(sizeof shapes / sizeof shapes[0]); k++)
      p_rows_and_matmul(wt[t].tn, wt[t].type, shapes[k][0], shapes[k][1], shapes[k][2], -1);
  /* f32/f16 only (one element per block): row tails past the last 32 or 8 */
  p_rows_and_matmul("f32", G_F32, 100, 64, 1, -1), p_rows_and_matmul("f32", G_F32, 77, 64, 1, -1);
  p_rows_and_matmul("f32", G_F32, 77, 64, 5, -1), p_rows_and_matmul("f16", G_F16, 77, 64, 1, -1);
  p_rows_and_matmul("f16", G_F16, 77, 64, 5, -1), p_rows_and_matmul("bf16", G_BF16, 77, 64, 3, -1);
  /* K-quants: same activation rounding, another summation order: a few
   * ulps of the dot's magnitude (|y| ~ sqrt(nc)) */
  p_rows_and_matmul("q4_K", G_Q4_K, 512, 48, 2, 2e-5);
  p_rows_and_matmul("q6_K", G_Q6_K, 256, 64, 1, 2e-5);
  fr_device_close(dev);
  printf("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
