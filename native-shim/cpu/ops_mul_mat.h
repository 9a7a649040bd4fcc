/*
 * ops_mul_mat.h — mul_mats that read the same activations (q/k/v, gate/up)
 * run as one parallel section: one fork/join, one activation quantization,
 * and no thread idles at a join between them while the other finishes a
 * tile. At decode that is most of what separates a step's matmuls from
 * streaming the weights at the memory bandwidth.
 */
#ifndef FERRUM_CPU_OPS_MUL_MAT_H
#define FERRUM_CPU_OPS_MUL_MAT_H

#include "dispatch.h"

#define FR_MM_GROUP_MAX 4u

/* How many ops from ops[0] (at most n_avail and FR_MM_GROUP_MAX) can run
 * as one group: consecutive mul_mats (either layout, any type) with the
 * same x, n_cols and n_tokens whose outputs no other member reads or
 * writes. 1 when ops[0] is not a mul_mat. Call after every op's check(). */
uint32_t fr_mul_mat_group_len(const fr_bound_op *ops, uint32_t n_avail);
/* Runs ops[0..n) as fr_mul_mat_group_len found them; same results as
 * running them one by one. */
int32_t fr_mul_mat_run_group(fr_device *dev, const fr_bound_op *ops, uint32_t n);
/* 1 when op is a mul_mat (either layout) */
int fr_is_mul_mat(const fr_bound_op *op);
/* the weight bytes a mul_mat op reads (its params' rows, not its view, which
 * runs to the end of the buffer); 0 for other ops */
uint64_t fr_mul_mat_weight_bytes(const fr_bound_op *op);
/* For a one-token group ops[0..n) that runs on several threads: the weights
 * the last thread streams first (from the start of its region to the end of
 * the member it lies in, at most `cap` bytes) in *start / *bytes, and 1;
 * else 0. Idle workers prefetch them (fr_pool_prefetch). */
int fr_mul_mat_worker_span(const fr_device *dev, const fr_bound_op *ops, uint32_t n, uint64_t cap,
                           const uint8_t **start, uint64_t *bytes);

#endif
