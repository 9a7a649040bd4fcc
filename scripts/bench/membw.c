// Memory read bandwidth probe for bench-vs-llamacpp: T threads each stream
// through their share of a buffer much larger than the caches (summing
// 64-bit words so the loads cannot be dropped), and the best of several
// passes is reported as bytes per second. Decode reads every weight once per
// token, so this is the rate that bounds decode speed.
//   membw MIB THREADS PASSES [SECONDS]
//     -> prints {"bytes": N, "threads": T, "passes": P, "best_gbs": X, "median_gbs": Y, "sustained_gbs": Z}
// With SECONDS, passes go on until that much time is spent reading, and
// sustained_gbs is all bytes over all that time: a shared machine's
// bandwidth swings within seconds, so one 10 ms pass's best is a peak that a
// decode run lasting seconds cannot hold, while the sustained rate is what
// such a run could have had.
#define _POSIX_C_SOURCE 200112L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const uint64_t *p;
  size_t n;
  uint64_t sum;
  pthread_barrier_t *start;
} job_t;

static void *reader(void *arg) {
  job_t *j = arg;
  pthread_barrier_wait(j->start);
  // Eight independent accumulators: the compiler vectorizes this into wide loads.
  uint64_t a[8] = {0};
  for (size_t i = 0; i + 8 <= j->n; i += 8)
    for (int k = 0; k < 8; k++) a[k] += j->p[i + k];
  uint64_t s = 0;
  for (int k = 0; k < 8; k++) s += a[k];
  j->sum = s;
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  int threads = argc > 2 ? atoi(argv[2]) : 1;
  int passes = argc > 3 ? atoi(argv[3]) : 5;
  double seconds = argc > 4 ? atof(argv[4]) : 0;
  if (threads < 1 || passes < 1 || mib < 1 || !(seconds >= 0)) return 2;
  size_t bytes = mib << 20, words = bytes / 8;
  uint64_t *buf = aligned_alloc(64, bytes);
  if (!buf) return 3;
  for (size_t i = 0; i < words; i++) buf[i] = i;  // touch every page

  pthread_t tid[256];
  job_t jobs[256];
  if (threads > 256) threads = 256;
  enum { MAX_PASSES = 4096 };
  static double gbs[MAX_PASSES], sorted[MAX_PASSES];
  if (passes > MAX_PASSES) passes = MAX_PASSES;
  uint64_t check = 0;
  double read_s = 0, read_bytes = 0;
  int pass = 0;
  for (; pass < MAX_PASSES && (pass < passes || read_s < seconds); pass++) {
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads + 1);
    size_t per = words / threads / 8 * 8;
    for (int t = 0; t < threads; t++) {
      jobs[t] = (job_t){buf + per * t, per, 0, &start};
      pthread_create(&tid[t], NULL, reader, &jobs[t]);
    }
    pthread_barrier_wait(&start);
    double t0 = now();
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    double dt = now() - t0;
    for (int t = 0; t < threads; t++) check += jobs[t].sum;
    gbs[pass] = (double)(per * threads * 8) / dt / 1e9;
    read_s += dt;
    read_bytes += (double)(per * threads * 8);
    pthread_barrier_destroy(&start);
  }
  passes = pass;
  memcpy(sorted, gbs, sizeof(double) * passes);
  qsort(sorted, passes, sizeof(double), cmp);
  printf("{\"bytes\": %zu, \"threads\": %d, \"passes\": %d, \"best_gbs\": %.3f, \"median_gbs\": %.3f, "
         "\"sustained_gbs\": %.3f, \"check\": %llu}\n",
         bytes, threads, passes, sorted[passes - 1], sorted[passes / 2], read_bytes / read_s / 1e9,
         (unsigned long long)(check & 0xffff));
  free(buf);
  return 0;
}
