/*
 * threadpool.c — fork/join in which nobody waits for a worker that has not
 * started.
 *
 * A job is nth parts, fn(arg, part, nth) for part = 0..nth-1; every
 * participant (the caller and each worker that turns up in time) claims
 * parts from an atomic counter until none are left. The caller then
 * closes the job and waits only for the workers that joined it. On a
 * machine with more runnable threads than cores a worker may not be
 * scheduled for milliseconds; with a fixed ith-per-thread split the
 * caller would sit idle until it ran, here the caller simply does the
 * late worker's parts itself. Parts keep the ith/nth contract ops rely on
 * (contiguous fr_split ranges, per-part scratch): a part never runs twice
 * and never concurrently with itself.
 *
 * The job state is one 64-bit word: generation (high 32 bits), a closed
 * flag and the number of workers inside the job. A worker joins with a
 * CAS that fails once the job is closed or replaced, so after the caller's
 * fetch_or(closed) the set of participants is fixed and the job's
 * fn/arg/counters stay valid until the last of them leaves.
 *
 * Workers spin for a short while after each job before sleeping on a
 * condvar: a decode step is hundreds of small ops back to back, and a
 * futex wake per op (~5-20 us) would cost more than many of the ops
 * themselves. Once the model goes idle the workers sleep and cost nothing.
 * While they spin, workers prefetch whatever span fr_pool_prefetch last
 * set: at decode, the serial ops between two matmuls (norms, rope, the
 * activation quantization) leave memory idle, and what the next matmul
 * or attention reads first (plan.c) is then already on its way.
 * Sleeping and waking use the store-then-load pattern on seq_cst atomics
 * on both sides (state vs sleepers, active count vs main_waiting), so a
 * waker either sees the sleeper or the sleeper sees the new work.
 */
#define _GNU_SOURCE
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

#define FR_SPIN_NS 50000u
#define ST_CLOSED (1ull << 31)
#define ST_ACTIVE 0x7fffffffull
#define ST_GEN(s) ((uint32_t)((s) >> 32))

typedef struct fr_worker {
  struct fr_pool *pool;
  int ith;
} fr_worker;

struct fr_pool {
  int n;
  pthread_t *threads;
  fr_worker *workers;
  fr_task_fn fn;
  void *arg;
  _Alignas(64) _Atomic uint64_t state;
  _Alignas(64) atomic_int next_part;
  /* fr_pool_prefetch's spans: each one's next line to prefetch, and its end */
  _Alignas(64) _Atomic uintptr_t pf_next[FR_POOL_PREFETCH_SPANS];
  _Atomic uintptr_t pf_end[FR_POOL_PREFETCH_SPANS];
  _Alignas(64) atomic_int sleepers;
  atomic_int main_waiting;
  atomic_bool stop;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_cond_t done;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* lines an idle worker prefetches between two looks at the job state */
#define FR_PF_LINES 8u

/* a few lines of the first prefetch span with any left; 0 when none has */
static int prefetch_some(fr_pool *p) {
  for (int i = 0; i < FR_POOL_PREFETCH_SPANS; i++) {
    const uintptr_t end = atomic_load_explicit(&p->pf_end[i], memory_order_acquire);
    if (atomic_load_explicit(&p->pf_next[i], memory_order_relaxed) >= end) continue;
    const uintptr_t at = atomic_fetch_add_explicit(&p->pf_next[i], 64 * FR_PF_LINES, memory_order_relaxed);
    if (at >= end) continue;
    /* prefetches never fault: a span replaced meanwhile costs a wasted line at most */
    for (unsigned k = 0; k < FR_PF_LINES; k++) __builtin_prefetch((const char *)at + 64 * k, 0, 2);
    return 1;
  }
  return 0;
}

/* waits for a generation other than `seen`; returns the state seen */
static uint64_t wait_new_gen(fr_pool *p, uint32_t seen) {
  uint64_t s;
  uint64_t t0 = now_ns();
  for (unsigned it = 1; ST_GEN(s = atomic_load(&p->state)) == seen; it++) {
    if (!prefetch_some(p)) cpu_relax();
    if ((it & 63) == 0 && now_ns() - t0 > FR_SPIN_NS) break;
  }
  if (ST_GEN(s) != seen) return s;
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  while (ST_GEN(s = atomic_load(&p->state)) == seen) pthread_cond_wait(&p->wake, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
  return s;
}

static void run_parts(fr_pool *p) {
  const fr_task_fn fn = p->fn;
  void *arg = p->arg;
  const int n = p->n;
  for (int part; (part = atomic_fetch_add_explicit(&p->next_part, 1, memory_order_relaxed)) < n;) fn(arg, part, n);
}

static void *worker_main(void *varg) {
  fr_worker *w = varg;
  fr_pool *p = w->pool;
  uint32_t seen = 0;
  for (;;) {
    uint64_t s = wait_new_gen(p, seen);
    if (atomic_load(&p->stop)) return NULL;
    seen = ST_GEN(s);
    /* join the job unless it is already closed (or replaced: then the
     * next wait sees the newer generation at once) */
    int joined = 0;
    while (ST_GEN(s) == seen && !(s & ST_CLOSED)) {
      if (atomic_compare_exchange_weak(&p->state, &s, s + 1)) {
        joined = 1;
        break;
      }
    }
    if (!joined) continue;
    run_parts(p);
    const uint64_t before = atomic_fetch_sub(&p->state, 1);
    if ((before & ST_ACTIVE) == 1 && atomic_load(&p->main_waiting)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_broadcast(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

fr_pool *fr_pool_new(int n_threads) {
  if (n_threads < 1) n_threads = 1;
  fr_pool *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
  if (!p) return NULL;
  memset(p, 0, sizeof *p);
  p->n = n_threads;
  atomic_init(&p->state, 0);
  atomic_init(&p->next_part, 0);
  for (int i = 0; i < FR_POOL_PREFETCH_SPANS; i++) atomic_init(&p->pf_next[i], 0), atomic_init(&p->pf_end[i], 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->main_waiting, 0);
  atomic_init(&p->stop, 0);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (n_threads == 1) return p;
  p->threads = calloc((size_t)n_threads, sizeof *p->threads);
  p->workers = calloc((size_t)n_threads, sizeof *p->workers);
  if (!p->threads || !p->workers) goto fail;
  for (int i = 1; i < n_threads; i++) {
    p->workers[i] = (fr_worker){p, i};
    if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
      p->n = i; /* join only those that started */
      fr_pool_free(p);
      return NULL;
    }
  }
  return p;
fail:
  free(p->threads);
  free(p->workers);
  free(p);
  return NULL;
}

void fr_pool_free(fr_pool *p) {
  if (!p) return;
  if (p->n > 1) {
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    /* a new, already closed generation: wakes everyone, nobody joins */
    const uint64_t s = atomic_load(&p->state);
    atomic_store(&p->state, ((uint64_t)(ST_GEN(s) + 1) << 32) | ST_CLOSED);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->threads);
  free(p->workers);
  free(p);
}

void fr_pool_run(fr_pool *p, fr_task_fn fn, void *arg) {
  if (p->n == 1) {
    fn(arg, 0, 1);
    return;
  }
  p->fn = fn;
  p->arg = arg;
  atomic_store_explicit(&p->next_part, 0, memory_order_relaxed);
  /* the previous job is closed with no one inside: only the caller writes
   * the state now, the release (seq_cst) store publishes fn/arg/next_part */
  const uint64_t s = atomic_load(&p->state);
  atomic_store(&p->state, (uint64_t)(ST_GEN(s) + 1) << 32);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  run_parts(p);
  /* close: from here no one joins; wait for those inside */
  if ((atomic_fetch_or(&p->state, ST_CLOSED) & ST_ACTIVE) == 0) return;
  uint64_t t0 = now_ns();
  for (unsigned it = 1; atomic_load(&p->state) & ST_ACTIVE; it++) {
    cpu_relax();
    if ((it & 63) == 0) {
      if (now_ns() - t0 > FR_SPIN_NS) break;
      /* a joined worker that is not running is usually waiting for this
       * core: hand it over */
      if (now_ns() - t0 > FR_SPIN_NS / 10) sched_yield();
    }
  }
  if (!(atomic_load(&p->state) & ST_ACTIVE)) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->main_waiting, 1);
  while (atomic_load(&p->state) & ST_ACTIVE) pthread_cond_wait(&p->done, &p->mu);
  atomic_store(&p->main_waiting, 0);
  pthread_mutex_unlock(&p->mu);
}

void fr_pool_prefetch(fr_pool *p, const fr_span *spans, int n) {
  if (p->n == 1) return;
  for (int i = 0; i < FR_POOL_PREFETCH_SPANS; i++) {
    const int set = i < n && spans[i].start;
    /* end first to nothing, so no worker pairs the new start with the old end */
    atomic_store_explicit(&p->pf_end[i], 0, memory_order_relaxed);
    atomic_store_explicit(&p->pf_next[i], set ? (uintptr_t)spans[i].start : 0, memory_order_relaxed);
    atomic_store_explicit(&p->pf_end[i], set ? (uintptr_t)spans[i].start + spans[i].bytes : 0, memory_order_release);
  }
}
