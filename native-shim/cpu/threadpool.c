/*
 * threadpool.c — workers spin for a short while after each job before
 * sleeping on a condvar: a decode step is hundreds of small ops back to
 * back, and a futex wake per op (~5-20 us) would cost more than many of the
 * ops themselves. Once the model goes idle the workers sleep and cost
 * nothing.
 *
 * Sleeping and waking use the store-then-load pattern on seq_cst atomics
 * on both sides (generation vs sleepers, pending vs main_waiting), so a
 * waker either sees the sleeper or the sleeper sees the new work.
 */
#define _GNU_SOURCE
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
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
  atomic_uint gen;
  atomic_int pending;
  atomic_int sleepers;
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

static unsigned wait_new_gen(fr_pool *p, unsigned seen) {
  unsigned g;
  uint64_t t0 = now_ns();
  for (unsigned it = 1; (g = atomic_load(&p->gen)) == seen; it++) {
    cpu_relax();
    if ((it & 63) == 0 && now_ns() - t0 > FR_SPIN_NS) break;
  }
  if (g != seen) return g;
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
  return g;
}

static void *worker_main(void *varg) {
  fr_worker *w = varg;
  fr_pool *p = w->pool;
  unsigned seen = 0;
  for (;;) {
    seen = wait_new_gen(p, seen);
    if (atomic_load(&p->stop)) return NULL;
    p->fn(p->arg, w->ith, p->n);
    if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->main_waiting)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_broadcast(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

fr_pool *fr_pool_new(int n_threads) {
  if (n_threads < 1) n_threads = 1;
  fr_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n = n_threads;
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
    atomic_fetch_add(&p->gen, 1);
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
  atomic_store(&p->pending, p->n - 1);
  atomic_fetch_add(&p->gen, 1);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  fn(arg, 0, p->n);
  uint64_t t0 = now_ns();
  for (unsigned it = 1; atomic_load(&p->pending) != 0; it++) {
    cpu_relax();
    if ((it & 63) == 0 && now_ns() - t0 > FR_SPIN_NS) break;
  }
  if (atomic_load(&p->pending) == 0) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->main_waiting, 1);
  while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
  atomic_store(&p->main_waiting, 0);
  pthread_mutex_unlock(&p->mu);
}
