/*
 * attn_online.c — one query row at a time, as ggml's
 * flash_attn_ext_f16_one_chunk: running max M and sum S in float, and for
 * F16 caches the V accumulator itself is an F16 vector, so every rescale
 * and every multiply-add rounds to half precision like llama.cpp's does.
 * For F16/F32 caches this route reproduces node-llama-cpp's CPU output bit
 * for bit (test/native/ggml_parity.c), which is why the rounding steps
 * below are spelled out (S*ms + vs unfused, V updates fused).
 */
#include <math.h>
#include <string.h>

#include "attn.h"
#include "half.h"
#include "vec_f16.h"

static inline uint64_t pad64(uint64_t n) { return (n + 63) & ~(uint64_t)63; }

/* F16/F32 caches go through the cache rows in runs of this many: all the
 * run's scores first (independent dot products), then its softmax factors,
 * then V with the accumulators held in registers (fr_mad_heads_f16). Row
 * by row, each step waited on the one before (decode: ~50 cycles a row and
 * head on Zen 5). Same operations in the same order per element, so the
 * same bits. */
#define FR_ATTN_RUN 64u
/* how many cache rows ahead a run's scores prefetch K (see online_f16) */
#define FR_ATTN_PF_ROWS 16u
/* a run's rows lie in one block of the cache, one after another */
_Static_assert(FR_KV_BLOCK_ROWS % FR_ATTN_RUN == 0, "runs must not straddle KV cache blocks");

/* into L2, not L1: a run's K and V rows (32 KiB at d = 128) would push
 * each other out of L1 before they are read. always_inline: GCC 12 takes a
 * function of nothing but prefetches for one without effects, and where it
 * does not inline one it drops the calls altogether (seen here when the
 * loop calling it grew). */
static inline __attribute__((always_inline)) void prefetch_rows(const uint8_t *p, uint64_t bytes) {
  for (uint64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 2);
}

/* a run of n cache rows of one KV head, consecutive in one block of the
 * cache, and where the next run's K rows start (perhaps in the next block) */
typedef struct kv_run {
  uint32_t n;
  const uint8_t *k, *v, *k_next;
} kv_run;

/* the run of KV head g from row r0 of n_kv; the first run also asks for
 * its first FR_ATTN_PF_ROWS K rows (the rows then ask for the ones ahead) */
static inline __attribute__((always_inline)) kv_run begin_run(const fr_attn_ctx *c, uint32_t g, uint64_t r0,
                                                              uint64_t n_kv) {
  kv_run r = {n_kv - r0 < FR_ATTN_RUN ? (uint32_t)(n_kv - r0) : FR_ATTN_RUN, fr_attn_row(c, c->k, g, r0),
              fr_attn_row(c, c->v, g, r0), NULL};
  r.k_next = r0 + r.n < n_kv ? fr_attn_row(c, c->k, g, r0 + r.n) : r.k;
  if (r0 == 0)
    for (uint64_t j = 0; j < FR_ATTN_PF_ROWS && j < n_kv; j++) prefetch_rows(r.k + j * c->row_bytes, c->row_bytes);
  return r;
}

/* the K row FR_ATTN_PF_ROWS after row j of run r (in the next run near its end) */
static inline __attribute__((always_inline)) const uint8_t *k_ahead(const fr_attn_ctx *c, const kv_run *r, uint32_t j) {
  return j + FR_ATTN_PF_ROWS < r->n ? r->k + (j + FR_ATTN_PF_ROWS) * c->row_bytes
                                    : r->k_next + (j + FR_ATTN_PF_ROWS - r->n) * c->row_bytes;
}

/* one query head's part of the scratch, and the bundle's shared part */
static uint64_t head_scratch(uint32_t d) {
  /* Q in vec_dot_type (<= 4 B/elem), f16 and f32 accumulators, a run's scores and factors */
  return pad64((uint64_t)d * 4) + pad64((uint64_t)d * 2) + pad64((uint64_t)d * 4) + 3 * FR_ATTN_RUN * 4;
}
static uint64_t shared_scratch(uint32_t d) {
  /* an f32 K row rounded to f16, V as f32 */
  return pad64((uint64_t)d * 2) + pad64((uint64_t)d * 4);
}

uint64_t fr_attn_online_scratch(uint32_t d) { return FR_ATTN_HEADS * head_scratch(d) + shared_scratch(d); }

/* F16 and F32 caches (the latter rounded to f16 as read, as llama.cpp
 * casts it), for NH query heads of KV head g: scores, running max M[h] and
 * sum S[h], and acc16[h] over rows [0, n_kv). Each head's numbers go through
 * ggml's steps in ggml's order; the heads only share the loads and
 * interleave their dependency chains. */
static inline __attribute__((always_inline)) void online_f16(const fr_attn_ctx *c, uint32_t g, uint64_t n_kv,
                                                             const int NH, const uint8_t *const *qq, const float *const *qf,
                                                             uint16_t *row16, uint16_t *const *acc16, float *const *run,
                                                             float *S) {
  const fr_attn_params *p = c->p;
  const uint32_t d = p->head_dim;
  const int f32_cache = c->kv_type == FR_TYPE_F32;
  (void)qf; /* read only where the build has fr_dot_f16_heads */
  float M[FR_ATTN_HEADS];
  const float *ms[FR_ATTN_HEADS], *vs[FR_ATTN_HEADS];
  for (int h = 0; h < NH; h++) S[h] = 0.0f, M[h] = -INFINITY, ms[h] = run[h] + FR_ATTN_RUN, vs[h] = run[h] + 2 * FR_ATTN_RUN;
  for (uint64_t r0 = 0; r0 < n_kv; r0 += FR_ATTN_RUN) {
    const kv_run rn = begin_run(c, g, r0, n_kv);
    const uint32_t n = rn.n;
    const uint8_t *k = rn.k, *v = rn.v;
    /* decode: the step's weights have pushed the cache rows out to memory.
     * Each row asks for the K row FR_ATTN_PF_ROWS ahead and for its own V
     * row (read after the run's dot products), both into L2. Measured when
     * a KV head's rows lay a whole cache row apart (before the head-major
     * cache), against asking for a whole run's V rows and the next run's K
     * rows up front into L1 (Zen 4, decode steps alternating between the
     * two, both ways round): decode attention at tg128 38-41% less time on
     * Qwen3 and 11-12% on TinyLlama (L1 hints: about half that; distances
     * 8-64 rows alike). With each head's rows in one run (Zen 4, decode at
     * depth 4096, two processes taking turns): steps 4% shorter with these
     * prefetches on Qwen3, 4% longer on TinyLlama; kept. */
    for (uint32_t j = 0; j < n; j++) {
      if (r0 + j + FR_ATTN_PF_ROWS < n_kv) prefetch_rows(k_ahead(c, &rn, j), c->row_bytes);
      prefetch_rows(v + j * c->row_bytes, c->row_bytes);
      const uint8_t *krow = k + j * c->row_bytes;
      if (f32_cache) {
        fr_round_f16((const float *)krow, row16, d);
        krow = (const uint8_t *)row16;
      }
#if FR_VEC_F16_AVX512
      if (qf) {
        float sc[FR_ATTN_HEADS];
        fr_dot_f16_heads(d, (const uint16_t *)krow, qf, NH, p->scale, sc);
        for (int h = 0; h < NH; h++) run[h][j] = sc[h];
        continue;
      }
#endif
      for (int h = 0; h < NH; h++)
        run[h][j] = fr_dot_f16(d, (const uint16_t *)krow, (const uint16_t *)qq[h]) * p->scale;
    }
    /* ggml: if s > M { ms = expf(M - s); M = s } else vs = expf(s - M).
     * Both arguments are -|s - M| (IEEE subtraction is exact under
     * negation), so one expf per row, and no branch for the heads to
     * mispredict. */
    for (uint32_t j = 0; j < n; j++)
      for (int h = 0; h < NH; h++) {
        const float sc = run[h][j], m_old = M[h];
        const int up = sc > m_old;
        const float e = expf(-fabsf(sc - m_old));
        const float msj = up ? e : 1.0f, vsj = up ? 1.0f : e;
        run[h][FR_ATTN_RUN + j] = msj;
        run[h][2 * FR_ATTN_RUN + j] = vsj;
        M[h] = up ? sc : m_old;
        S[h] = S[h] * msj + vsj;
      }
    fr_mad_heads_f16(acc16, NH, d, v, c->row_bytes, n, ms, vs, f32_cache);
  }
}

/* a Q8_0 cache: K scored through the q8_0 traits, V accumulated in f32,
 * one row at a time; returns S with acc32 holding the unscaled sum */
static float online_q8_0(const fr_attn_ctx *c, uint32_t g, uint64_t n_kv, const uint8_t *qq, float *acc32, float *v32) {
  const uint32_t d = c->p->head_dim;
  float S = 0.0f, M = -INFINITY;
  /* rows in runs with prefetches, as in online_f16: decode attention
   * 16-24% less time with the prefetches than with none (Qwen3, Zen 4) */
  for (uint64_t r0 = 0; r0 < n_kv; r0 += FR_ATTN_RUN) {
    const kv_run rn = begin_run(c, g, r0, n_kv);
    for (uint32_t j = 0; j < rn.n; j++) {
      const uint8_t *krow = rn.k + j * c->row_bytes, *vrow = rn.v + j * c->row_bytes;
      if (r0 + j + FR_ATTN_PF_ROWS < n_kv) prefetch_rows(k_ahead(c, &rn, j), c->row_bytes);
      prefetch_rows(vrow, c->row_bytes);
      float s;
      c->kq_dot((int)d, &s, krow, qq);
      s = s * c->p->scale;
      const float m_old = M;
      float ms = 1.0f, vs = 1.0f;
      if (s > M) {
        M = s;
        ms = expf(m_old - M);
      } else {
        vs = expf(s - M);
      }
      if (ms != 1.0f)
        for (uint32_t i = 0; i < d; i++) acc32[i] *= ms;
      c->v_to_float(vrow, v32, d);
      for (uint32_t i = 0; i < d; i++) acc32[i] = fmaf(v32[i], vs, acc32[i]);
      S = S * ms + vs;
    }
  }
  return S;
}

void fr_attn_online_heads(const fr_attn_ctx *c, uint8_t *scratch, uint32_t t, uint32_t h0, uint32_t nh) {
  const fr_attn_params *p = c->p;
  const uint32_t d = p->head_dim;
  const uint32_t g = h0 / (p->n_head / p->n_head_kv);

  uint16_t *row16 = (uint16_t *)scratch; /* an f32 K or V row rounded to f16 */
  float *v32 = (float *)(scratch + pad64((uint64_t)d * 2));
  uint8_t *qq[FR_ATTN_HEADS];
  uint16_t *acc16[FR_ATTN_HEADS];
  float *acc32[FR_ATTN_HEADS], *run[FR_ATTN_HEADS], S[FR_ATTN_HEADS];
  for (uint32_t h = 0; h < nh; h++) {
    uint8_t *hs = scratch + shared_scratch(d) + h * head_scratch(d);
    qq[h] = hs; /* Q in vec_dot_type */
    acc16[h] = (uint16_t *)(hs + pad64((uint64_t)d * 4));
    acc32[h] = (float *)((uint8_t *)acc16[h] + pad64((uint64_t)d * 2));
    run[h] = (float *)((uint8_t *)acc32[h] + pad64((uint64_t)d * 4)); /* a run's scores and factors */
    c->q_convert(c->q + ((uint64_t)t * p->n_head + h0 + h) * d, qq[h], d);
  }
  const uint64_t n_kv = (uint64_t)p->pos0 + t + 1;
  if (c->kv_type == FR_TYPE_Q8_0) {
    for (uint32_t h = 0; h < nh; h++) {
      memset(acc32[h], 0, (size_t)d * sizeof(float));
      S[h] = online_q8_0(c, g, n_kv, qq[h], acc32[h], v32);
    }
  } else {
    for (uint32_t h = 0; h < nh; h++) memset(acc16[h], 0, (size_t)d * sizeof(uint16_t));
    const uint8_t *const *q = (const uint8_t *const *)qq;
    /* Q widened to f32 once (into acc32, free until the output), where the
     * heads' scores go through fr_dot_f16_heads: against fr_dot_f16 per
     * head, attention 16% less time at tg128 on TinyLlama (8 query heads a
     * KV head, d = 64), unchanged on Qwen3 (2, d = 128); Zen 5, decode steps
     * alternating between the two in one process */
    const float *const *qf = NULL;
#if FR_VEC_F16_AVX512
    if (d % 32 == 0) {
      for (uint32_t h = 0; h < nh; h++) fr_widen_f16((const uint16_t *)qq[h], acc32[h], d);
      qf = (const float *const *)acc32;
    }
#endif
    switch (nh) {
      case 1: online_f16(c, g, n_kv, 1, q, qf, row16, acc16, run, S); break;
      case 2: online_f16(c, g, n_kv, 2, q, qf, row16, acc16, run, S); break;
      case 3: online_f16(c, g, n_kv, 3, q, qf, row16, acc16, run, S); break;
      default: online_f16(c, g, n_kv, 4, q, qf, row16, acc16, run, S); break;
    }
    for (uint32_t h = 0; h < nh; h++) fr_widen_f16(acc16[h], acc32[h], d);
  }
  for (uint32_t h = 0; h < nh; h++) {
    const float s_inv = S[h] == 0.0f ? 0.0f : 1.0f / S[h];
    float *out = c->dst + ((uint64_t)t * p->n_head + h0 + h) * d;
    for (uint32_t i = 0; i < d; i++) out[i] = acc32[h][i] * s_inv;
  }
}
