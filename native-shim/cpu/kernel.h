/*
 * kernel.h — what every CPU op provides: its binding count and params size,
 * a cheap `check` that turns params into required byte extents per binding
 * (run before every dispatch and replay, so no op ever reads or writes out
 * of bounds), and `run`.
 */
#ifndef FERRUM_CPU_KERNEL_H
#define FERRUM_CPU_KERNEL_H

#include <stdint.h>

#include "handles.h"
#include "objects.h"

/* A binding resolved to memory: `bytes` is what lies between the binding's
 * offset and the end of its buffer. */
typedef struct fr_view {
  uint8_t *ptr;
  uint64_t bytes;
  int writable; /* 0 for views into read-only file mappings */
  int fd;       /* views into a file mapping: the file, ptr being at file_offset in it; else -1 */
  int64_t file_offset;
} fr_view;

typedef struct fr_kernel_desc fr_kernel_desc;
typedef int32_t (*fr_check_fn)(const fr_kernel_desc *k, const void *params, const fr_view *v);
typedef int32_t (*fr_run_fn)(const fr_kernel_desc *k, fr_device *dev, const void *params, const fr_view *v);
/* nonzero when the quant traits of `type` support this kernel */
typedef int (*fr_avail_fn)(int32_t type);

struct fr_kernel_desc {
  char name[40];
  int32_t type; /* ggml type of the weights/table/cache, -1 when none */
  uint32_t n_bindings;
  uint32_t params_size;
  uint32_t writes; /* bit i set: binding i is written */
  const char *binding_names[FR_MAX_BINDINGS];
  fr_check_fn check;
  fr_run_fn run;
  fr_avail_fn available; /* NULL: always available */
};

/* Templates, one per op family; kernels.c instantiates them per type. */
extern const fr_kernel_desc fr_op_get_rows;
extern const fr_kernel_desc fr_op_rms_norm_f32;
extern const fr_kernel_desc fr_op_add_f32;
extern const fr_kernel_desc fr_op_mul_f32;
extern const fr_kernel_desc fr_op_rope_f32;
extern const fr_kernel_desc fr_op_kv_store;
extern const fr_kernel_desc fr_op_attn;
extern const fr_kernel_desc fr_op_soft_max_f32;
extern const fr_kernel_desc fr_op_swiglu_f32;
extern const fr_kernel_desc fr_op_mul_mat;
extern const fr_kernel_desc fr_op_mul_mat_id;
extern const fr_kernel_desc fr_op_mul_mat_r8; /* mul_mat over weights repacked by fr_op_repack_r8 */
extern const fr_kernel_desc fr_op_repack_r8;
extern const fr_kernel_desc fr_op_moe_route_f32;
extern const fr_kernel_desc fr_op_moe_sum_f32;

const fr_kernel_desc *fr_kernel_by_id(int32_t id); /* NULL if unknown */

/* --- helpers for check() --- */

/* binding i must exist, be `align`-aligned, hold `bytes`, and be writable
 * if the kernel writes it; otherwise FR_E_INVALID naming kernel and binding */
int32_t fr_need(const fr_kernel_desc *k, const fr_view *v, uint32_t i, uint64_t bytes, uint32_t align);
/* a*b*c, or UINT64_MAX on overflow (which then fails fr_need) */
uint64_t fr_mul3(uint64_t a, uint64_t b, uint64_t c);
/* FR_E_INVALID with "<kernel>: <message>" */
int32_t fr_bad_params(const fr_kernel_desc *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* bytes of one row of n elements of `type`, 0 if n is not a whole number
 * of blocks or the type has no traits */
uint64_t fr_row_bytes(int32_t type, uint64_t n);

/* [r0, r1) of n items for worker ith of nth: contiguous, balanced */
static inline void fr_split(uint64_t n, int ith, int nth, uint64_t *r0, uint64_t *r1) {
  uint64_t per = n / (uint64_t)nth, extra = n % (uint64_t)nth, i = (uint64_t)ith;
  *r0 = i * per + (i < extra ? i : extra);
  *r1 = *r0 + per + (i < extra);
}

/* Runs fn on all workers, or only on the caller when `work` (roughly:
 * elements touched) is too small for a fork/join to pay off. */
#define FR_PARALLEL_MIN_WORK 65536u
/* the nth that fr_parallel will pass fn for this much work */
static inline int fr_parallel_threads(const fr_device *dev, uint64_t work) {
  return work < FR_PARALLEL_MIN_WORK ? 1 : dev->n_threads;
}
static inline void fr_parallel(fr_device *dev, fr_task_fn fn, void *arg, uint64_t work) {
  if (fr_parallel_threads(dev, work) == 1)
    fn(arg, 0, 1);
  else
    fr_pool_run(dev->pool, fn, arg);
}

#endif
