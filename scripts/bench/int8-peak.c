// int8 multiply-add peak of this CPU, for BENCHMARKS.md's "share of peak":
// ten independent chains of vpdpbusd (u8 x s8, four products summed into
// each int32 lane), 512-bit where the build has AVX-512 VNNI, else 256-bit
// vpmaddubsw + vpmaddwd (the AVX2 kernels' pair, counted the same way), on
// 1 and 2 threads. Also a dependent-add loop, whose rate is about the clock.
//   cc -O2 -march=native -pthread scripts/bench/int8-peak.c -o /tmp/int8-peak && /tmp/int8-peak
#define _POSIX_C_SOURCE 200112L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define ITERS 100000000L
#define CHAINS 10

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
typedef __m512i vec;
#define MACS_PER_OP 64
#define STEP(c, a, b) _mm512_dpbusd_epi32(c, a, b)
#define SET1(v) _mm512_set1_epi8(v)
#define ZERO() _mm512_setzero_si512()
#define WHAT "512-bit vpdpbusd"
#elif defined(__AVX2__)
typedef __m256i vec;
#define MACS_PER_OP 32
#define STEP(c, a, b) _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)))
#define SET1(v) _mm256_set1_epi8(v)
#define ZERO() _mm256_setzero_si256()
#define WHAT "256-bit vpmaddubsw + vpmaddwd + vpaddd"
#else
#error "needs AVX2 or AVX-512 VNNI (build with -march=native on such a CPU)"
#endif

/* ten named accumulators (an array would live in memory under the asm barrier) */
static void *work(void *out) {
  const vec a = SET1(1), b = SET1(2);
  vec c0 = ZERO(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
  for (long i = 0; i < ITERS; i++) {
    c0 = STEP(c0, a, b), c1 = STEP(c1, a, b), c2 = STEP(c2, a, b), c3 = STEP(c3, a, b), c4 = STEP(c4, a, b);
    c5 = STEP(c5, a, b), c6 = STEP(c6, a, b), c7 = STEP(c7, a, b), c8 = STEP(c8, a, b), c9 = STEP(c9, a, b);
    /* the compiler must compute every chain every iteration */
    __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5), "+x"(c6), "+x"(c7), "+x"(c8),
                     "+x"(c9));
  }
  vec all[CHAINS] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9};
  int sum = 0, lane;
  for (int k = 0; k < CHAINS; k++) {
    __builtin_memcpy(&lane, &all[k], sizeof lane);
    sum += lane;
  }
  *(int *)out = sum;
  return NULL;
}

int main(void) {
  printf("int8 multiply-adds through %s, %d chains:\n", WHAT, CHAINS);
  for (int nth = 1; nth <= 2; nth++) {
    pthread_t t[2];
    int r[2];
    const double t0 = now();
    for (int i = 0; i < nth; i++) pthread_create(&t[i], NULL, work, &r[i]);
    for (int i = 0; i < nth; i++) pthread_join(t[i], NULL);
    const double dt = now() - t0;
    printf("  %d thread%s: %.1f G int8 MAC/s (%.2f G ops/s per thread)\n", nth, nth > 1 ? "s" : "",
           nth * (double)ITERS * CHAINS * MACS_PER_OP / dt / 1e9, (double)ITERS * CHAINS / dt / 1e9);
  }
  const double t0 = now();
  long x = 0;
  for (long i = 0; i < 1000000000L; i++) __asm__ volatile("add $1, %0" : "+r"(x));
  printf("dependent adds: %.2f G/s (about the clock in GHz)\n", 1.0 / (now() - t0));
  return 0;
}
