// How fast one thread streams repacked (r8) weights through the one-token
// kernel, by row length and layout: the question behind ffn_down's lower
// rate in decode (step-profile shows it ~0.8 of gate/up's). Each config
// streams 6.5 MB matrices, cycling through ~300 MB so every byte comes from
// memory; configs take turns every four matrices, so a shared machine's
// drift hits all alike. With THREADS > 1 each thread streams its own
// contiguous share of every matrix's groups, as decode's regions do.
// Layouts:
//   plain     the rows layout's bytes read with plain summing loads (membw.c's
//             loop), no kernel: the memory rate of the same minute
//   rows      as the engine reads today: each eight-row group's whole row
//             (all K columns), group after group
//   slices=N  K cut in N slices, slice-major: slice k of every group, then
//             slice k+1, each stored contiguously (a layout the engine does
//             not have; the kernel is gemm over the slice's columns, whose
//             memory traffic is that of a K-sliced kernel)
//   slices=N/C  the same, a pass over C groups at a time (slice 0..N-1 of
//             groups [a, a+C), then of the next C): decode's claims;
//             slices=N/h: each pass half the groups left, at least 8
//   cc -std=c11 -O3 -march=native -pthread -Inative-shim/cpu -Inative-shim/cpu/quants
//      scripts/bench/r8-stream.c native-shim/cpu/quants/*.c -lm -o /tmp/r8-stream
//   /tmp/r8-stream q4_0 16 1 2048:rows 5632:rows 5632:slices=3
//   (TYPE REPS THREADS CONFIG...) prints one line per config: TYPE K LAYOUT THREADS GB/s
// Compiled with -DMATRIX_BYTES=400000 -DMATRICES=1 it cycles through one
// matrix that stays in L2: the kernel's compute rate instead of memory's
// (Zen 4, one thread: q4_K 46 GB/s, q6_K 27, q4_0 32, q8_0 53).
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../../metal/ferrum_params.h"
#include "quants.h"

#ifndef MATRIX_BYTES
#define MATRIX_BYTES ((size_t)6500000)
#endif
#ifndef MATRICES
#define MATRICES 48
#endif
#define MAX_CONFIGS 16

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static float frand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (float)((int64_t)(rng >> 40) - (1 << 23)) / (float)(1 << 23);
}

typedef struct {
  int k, slices, claim; /* slices 0: rows; claim: groups per pass (0: the thread's whole share; -1: halving) */
  int plain;            /* read the same bytes with plain summing loads (membw.c's loop), no kernel */
  double seconds, bytes;
} config;

/* what every thread streams next: matrices [m0, m0 + 4) under config c */
typedef struct {
  const fr_r8_traits *r8;
  const fr_type_traits *t;
  const uint8_t *w, *act;
  size_t matrix_stride, ablock;
  const config *c;
  int m0, nth, stop;
  pthread_barrier_t start, done;
} job;

typedef struct {
  job *j;
  int ith;
} worker;

/* the plain loads' sum, so the compiler keeps them */
static uint64_t plain_sink;

/* thread ith's share of groups, in the config's layout, of four matrices */
static void stream(const job *j, int ith) {
  const int nb = j->c->k / j->t->blck_size, ns = j->c->slices;
  const size_t bb = (size_t)j->r8->block_bytes, unit = bb * (size_t)nb, units = MATRIX_BYTES / unit;
  const size_t u0 = units * (size_t)ith / (size_t)j->nth, u1 = units * (size_t)(ith + 1) / (size_t)j->nth;
  float out[8];
  for (int q = 0; q < 4; q++) {
    const uint8_t *base = j->w + (size_t)((j->m0 + q) % MATRICES) * j->matrix_stride;
    if (j->c->plain) {
      const uint64_t *p = (const uint64_t *)(base + u0 * unit);
      const size_t n = (u1 - u0) * unit / 8;
      uint64_t a[8] = {0};
      for (size_t i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) a[k] += p[i + k];
      for (int k = 1; k < 8; k++) a[0] += a[k];
      __atomic_fetch_add(&plain_sink, a[0], __ATOMIC_RELAXED);
      continue;
    }
    if (!ns) {
      for (size_t u = u0; u < u1; u++) j->r8->gemm(j->c->k, 1, out, 8, base + u * unit, j->act, 0);
      continue;
    }
    for (size_t a = u0, b; a < u1; a = b) {
      /* claim > 0: that many groups a pass; 0: the whole share; -1: half
       * of what is left, at least 8 */
      const size_t left = u1 - a, half = left / 2 > 8 ? left / 2 : 8;
      const size_t claim = j->c->claim > 0 ? (size_t)j->c->claim : j->c->claim < 0 ? half : left;
      b = a + claim < u1 ? a + claim : u1;
      for (int k = 0; k < ns; k++) {
        const int b0 = nb * k / ns, b1 = nb * (k + 1) / ns;
        const size_t piece = bb * (size_t)(b1 - b0);
        const uint8_t *p = base + (size_t)b0 * bb * units + a * piece;
        for (size_t u = a; u < b; u++, p += piece)
          j->r8->gemm((b1 - b0) * j->t->blck_size, 1, out, 8, p, j->act + (size_t)b0 * j->ablock, 0);
      }
    }
  }
}

static void *worker_main(void *arg) {
  worker *wk = arg;
  for (;;) {
    pthread_barrier_wait(&wk->j->start);
    if (wk->j->stop) return NULL;
    stream(wk->j, wk->ith);
    pthread_barrier_wait(&wk->j->done);
  }
}

static int type_of(const char *name) {
  static const struct { const char *name; int type; } types[] = {
      {"q4_0", FR_TYPE_Q4_0}, {"q8_0", FR_TYPE_Q8_0}, {"q4_K", FR_TYPE_Q4_K}, {"q6_K", FR_TYPE_Q6_K}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(name, types[i].name)) return types[i].type;
  return -1;
}

int main(int argc, char **argv) {
  const int type = argc > 4 ? type_of(argv[1]) : -1;
  const int reps = argc > 4 ? atoi(argv[2]) : 0, nth = argc > 4 ? atoi(argv[3]) : 0;
  if (type < 0 || reps < 1 || nth < 1 || nth > 64) {
    fprintf(stderr, "usage: r8-stream q4_0|q8_0|q4_K|q6_K REPS THREADS K:rows|K:plain|K:slices=N ...\n");
    return 2;
  }
  const fr_type_traits *t = fr_get_type_traits(type), *at = fr_get_type_traits(t->vec_dot_type);
  const fr_r8_traits *r8 = fr_get_r8_traits(type);
  const size_t bb = (size_t)r8->block_bytes;
  config c[MAX_CONFIGS];
  int nc = 0, kmax = 0;
  for (int i = 4; i < argc && nc < MAX_CONFIGS; i++, nc++) {
    c[nc] = (config){.k = atoi(argv[i])};
    const char *lay = strchr(argv[i], ':');
    c[nc].slices = lay && !strncmp(lay, ":slices=", 8) ? atoi(lay + 8) : 0;
    c[nc].plain = lay && !strcmp(lay, ":plain");
    const char *claim = c[nc].slices ? strchr(lay, '/') : NULL;
    c[nc].claim = claim ? (claim[1] == 'h' ? -1 : atoi(claim + 1)) : 0;
    if (c[nc].k <= 0 || c[nc].k % t->blck_size || !lay || (strcmp(lay, ":rows") && !c[nc].plain && c[nc].slices < 1)) {
      fprintf(stderr, "r8-stream: bad config %s (K a multiple of %d, then :rows, :plain or :slices=N)\n", argv[i], t->blck_size);
      return 2;
    }
    if (c[nc].k > kmax) kmax = c[nc].k;
  }
  /* one valid group of kmax columns, its blocks tiled through the region:
   * any run of whole r8 blocks is a valid group of that many columns */
  const int nbmax = kmax / t->blck_size;
  float *xs = malloc(sizeof(float) * (size_t)kmax);
  uint8_t *rows = malloc(FR_R8_ROWS * (size_t)t->type_size * (size_t)nbmax), *group = malloc(bb * (size_t)nbmax);
  const size_t wrow = (size_t)t->type_size * (size_t)nbmax;
  /* random quants with in-range fp16 scales at the type's offsets (ferrum
   * has no weight quantizers; the values do not matter to the timing) */
  static const struct { int type, n, off[2]; } halves[] = {
      {FR_TYPE_Q4_0, 1, {0}}, {FR_TYPE_Q8_0, 1, {0}}, {FR_TYPE_Q4_K, 2, {0, 2}}, {FR_TYPE_Q6_K, 1, {208}}};
  for (size_t i = 0; i < FR_R8_ROWS * wrow; i++) rows[i] = (uint8_t)(frand() * 256);
  for (size_t h = 0; h < sizeof halves / sizeof halves[0]; h++)
    if (halves[h].type == type)
      for (size_t b = 0; b < FR_R8_ROWS * (size_t)nbmax; b++)
        for (int k = 0; k < halves[h].n; k++) {
          const uint16_t d = (uint16_t)(0x1800 + (b * 37 + (size_t)k) % 0x1000);
          memcpy(rows + b * (size_t)t->type_size + halves[h].off[k], &d, 2);
        }
  r8->repack(rows, wrow, group, kmax);
  const size_t region = MATRICES * (MATRIX_BYTES / bb) * bb;
  /* in transparent huge pages where the kernel gives them, as the engine's
   * repacked weights are (buffer.c) */
  uint8_t *w = NULL;
  if (posix_memalign((void **)&w, (size_t)2 << 20, region)) return 1;
#ifdef MADV_HUGEPAGE
  madvise(w, region, MADV_HUGEPAGE);
#endif
  for (size_t o = 0; o < region; o += bb) memcpy(w + o, group + (o / bb % (size_t)nbmax) * bb, bb);
  const size_t arow = (size_t)at->type_size * (size_t)(kmax / at->blck_size);
  uint8_t *act = malloc(arow);
  for (int i = 0; i < kmax; i++) xs[i] = frand();
  at->from_float(xs, act, kmax);
  const size_t ablock = (size_t)at->type_size * (size_t)(t->blck_size / at->blck_size);
  job j = {.r8 = r8, .t = t, .w = w, .act = act, .matrix_stride = region / MATRICES, .ablock = ablock, .nth = nth};
  pthread_barrier_init(&j.start, NULL, (unsigned)nth);
  pthread_barrier_init(&j.done, NULL, (unsigned)nth);
  pthread_t tid[64];
  worker wk[64];
  for (int i = 1; i < nth; i++) {
    wk[i] = (worker){&j, i};
    pthread_create(&tid[i], NULL, worker_main, &wk[i]);
  }
  for (int rep = 0; rep < reps; rep++)
    for (int ci = 0; ci < nc; ci++) {
      const size_t unit = bb * (size_t)(c[ci].k / t->blck_size);
      j.c = &c[ci];
      const double t0 = now();
      pthread_barrier_wait(&j.start);
      stream(&j, 0);
      pthread_barrier_wait(&j.done);
      c[ci].seconds += now() - t0;
      c[ci].bytes += 4.0 * (double)(MATRIX_BYTES / unit * unit);
      j.m0 = (j.m0 + 4) % MATRICES;
    }
  j.stop = 1;
  pthread_barrier_wait(&j.start);
  for (int i = 1; i < nth; i++) pthread_join(tid[i], NULL);
  for (int ci = 0; ci < nc; ci++) {
    char lay[32];
    if (c[ci].slices && c[ci].claim < 0) snprintf(lay, sizeof lay, "slices=%d/h", c[ci].slices);
    else if (c[ci].slices) snprintf(lay, sizeof lay, c[ci].claim ? "slices=%d/%d" : "slices=%d", c[ci].slices, c[ci].claim);
    else snprintf(lay, sizeof lay, c[ci].plain ? "plain" : "rows");
    printf("%s %d %s %d %.2f GB/s\n", argv[1], c[ci].k, lay, nth, c[ci].bytes / c[ci].seconds / 1e9);
  }
  return 0;
}
