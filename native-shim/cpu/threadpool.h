/*
 * threadpool.h — fork/join over a fixed set of workers. The calling thread
 * is worker 0, so n_threads == 1 means no extra threads at all.
 */
#ifndef FERRUM_CPU_THREADPOOL_H
#define FERRUM_CPU_THREADPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr_pool fr_pool;
typedef void (*fr_task_fn)(void *arg, int ith, int nth);

fr_pool *fr_pool_new(int n_threads); /* NULL if threads cannot start */
void fr_pool_free(fr_pool *pool);
/* Runs fn(arg, ith, nth) for ith = 0..nth-1 (nth = the pool's size) and
 * returns when all have run. Each ith runs exactly once, on whichever
 * thread claims it first (the caller takes those no worker got to). */
void fr_pool_run(fr_pool *pool, fr_task_fn fn, void *arg);
/* Memory for idle workers to prefetch (into L2) while they spin between
 * jobs: up to FR_POOL_PREFETCH_SPANS spans, fetched in order; replaces any
 * earlier ones, n = 0 clears them. Plans set what the next matmul or
 * attention reads first, so the serial ops before it, which leave memory
 * idle, fetch it early. */
#define FR_POOL_PREFETCH_SPANS 2
typedef struct fr_span {
  const uint8_t *start;
  uint64_t bytes;
} fr_span;
void fr_pool_prefetch(fr_pool *pool, const fr_span *spans, int n);

#endif
