/*
 * dispatch.h — one op record resolved against live objects; shared by eager
 * dispatch and plans (which resolve once at upload and keep the result).
 */
#ifndef FERRUM_CPU_DISPATCH_H
#define FERRUM_CPU_DISPATCH_H

#include "kernel.h"

typedef struct fr_bound_op {
  const fr_kernel_desc *k;
  const void *params; /* 4-byte aligned, k->params_size bytes */
  fr_view views[FR_MAX_BINDINGS];
  fr_buffer *bufs[FR_MAX_BINDINGS];
} fr_bound_op;

/* Resolves kernel id and buffer handles of `rec` (caller holds the API
 * lock); params are attached by the caller. */
int32_t fr_bind_op(fr_device *dev, const fr_op *rec, fr_bound_op *out);
/* check() then run() */
int32_t fr_exec_op(fr_device *dev, const fr_bound_op *op);

#endif
