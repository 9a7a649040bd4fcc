/*
 * ops_repack.c — repack_<type>_r8: a weight matrix copied once, at load,
 * into its repacked layout (quants.h fr_r8_traits) for mul_mat_<type>_r8.
 *
 * The source is normally a view into the model's read-only file mapping.
 * Its pages were just read, so they count in the process's resident set
 * on top of the copy; dropping them (MADV_DONTNEED) keeps resident memory
 * near the file's size. Only whole pages inside the view are dropped: a
 * page shared with a neighbouring tensor stays. Clean file pages read back
 * from the page cache if anything uses them again (a tied output/embedding
 * table does, through get_rows).
 */
#define _DEFAULT_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"
#include "quants.h"

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_repack_params *p = vp;
  const fr_r8_traits *r8 = fr_get_r8_traits(k->type);
  const fr_type_traits *tt = fr_get_type_traits(k->type);
  const uint64_t rb = fr_row_bytes(k->type, p->n_cols);
  if (p->n_cols == 0 || rb == 0) return fr_bad_params(k, "n_cols %u is not a positive whole number of blocks", p->n_cols);
  if (p->row_bytes != rb)
    return fr_bad_params(k, "row_bytes %u, rows of %u elements take %llu", p->row_bytes, p->n_cols, (unsigned long long)rb);
  if (p->n_rows == 0 || p->n_rows % FR_R8_ROWS) return fr_bad_params(k, "n_rows %u is not a positive multiple of %u", p->n_rows, FR_R8_ROWS);
  if (p->block_bytes != (uint32_t)r8->block_bytes)
    return fr_bad_params(k, "block_bytes %u, the layout's blocks take %d", p->block_bytes, r8->block_bytes);
  const uint64_t blocks = (uint64_t)(p->n_rows / FR_R8_ROWS) * (p->n_cols / (uint32_t)tt->blck_size);
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_rows, rb, 1), 1)) || (rc = fr_need(k, v, 1, fr_mul3(blocks, r8->block_bytes, 1), 2)))
    return rc;
  return FR_OK;
}

typedef struct task {
  const fr_repack_params *p;
  const fr_r8_traits *r8;
  const uint8_t *src;
  uint8_t *dst;
  uint64_t dst_group_bytes;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  uint64_t g0, g1;
  fr_split(t->p->n_rows / FR_R8_ROWS, ith, nth, &g0, &g1);
  for (uint64_t g = g0; g < g1; g++)
    t->r8->repack(t->src + g * FR_R8_ROWS * t->p->row_bytes, t->p->row_bytes, t->dst + g * t->dst_group_bytes,
                  (int)t->p->n_cols);
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  const fr_repack_params *p = vp;
  const fr_type_traits *tt = fr_get_type_traits(k->type);
  task t = {.p = p, .r8 = fr_get_r8_traits(k->type), .src = v[0].ptr, .dst = v[1].ptr};
  t.dst_group_bytes = (uint64_t)(p->n_cols / (uint32_t)tt->blck_size) * (uint64_t)t.r8->block_bytes;
  fr_parallel(dev, work, &t, (uint64_t)p->n_rows * p->n_cols);
  if (!v[0].writable) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t a = ((uintptr_t)t.src + page - 1) & ~(page - 1);
    const uintptr_t b = ((uintptr_t)t.src + (uintptr_t)p->n_rows * p->row_bytes) & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED); /* advice only: failure changes nothing */
  }
  return FR_OK;
}

static int available(int32_t type) { return fr_get_r8_traits(type) != NULL; }

const fr_kernel_desc fr_op_repack_r8 = {
    .n_bindings = 2,
    .params_size = sizeof(fr_repack_params),
    .writes = 1u << 1,
    .binding_names = {"src", "dst"},
    .check = check,
    .run = run,
    .available = available,
};
