/* ops_get_rows.c — get_rows_<type>: embedding lookup, dequantized to f32. */
#define _XOPEN_SOURCE 700 /* pread */
#include <errno.h>
#include <unistd.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"
#include "quants.h"

static uint32_t type_align(int32_t type) { return type == FR_TYPE_F32 ? 4 : 2; }

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_get_rows_params *p = vp;
  uint64_t rb = fr_row_bytes(k->type, p->n_cols);
  if (p->n_cols == 0 || rb == 0) return fr_bad_params(k, "n_cols %u is not a positive whole number of blocks", p->n_cols);
  if (p->row_bytes != rb) return fr_bad_params(k, "row_bytes %u, rows of %u elements take %llu", p->row_bytes, p->n_cols,
                                               (unsigned long long)rb);
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_vocab, rb, 1), type_align(k->type))) ||
      (rc = fr_need(k, v, 1, fr_mul3(p->n_rows, 4, 1), 4)) || (rc = fr_need(k, v, 2, fr_mul3(p->n_rows, p->n_cols, 4), 4)))
    return rc;
  return FR_OK;
}

/* Tables in a file mapping (not repacked: token_embd) are read with pread
 * up to this many rows (a decode step's one token, small batches): a row
 * of a page the process has not touched yet costs a page fault, 20-30 us
 * on the development VM (Firecracker), against 2.5-3.5 us for pread of a
 * 1152-byte row, and decode meets new rows all the time (each token's).
 * It also keeps untouched rows out of the resident set. Prefill's many
 * rows take the mapping, split across the threads. */
#define FR_GET_ROWS_PREAD_MAX 16u

/* bytes [off, off + n) of the file into buf; 0 if it cannot (the caller
 * reads the mapping instead) */
static int read_row(int fd, uint8_t *buf, uint64_t n, int64_t off) {
  for (uint64_t done = 0; done < n;) {
    const ssize_t got = pread(fd, buf + done, (size_t)(n - done), (off_t)(off + (int64_t)done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0;
    done += (uint64_t)got;
  }
  return 1;
}

typedef struct task {
  const fr_type_traits *tt;
  const fr_get_rows_params *p;
  const uint8_t *table;
  const int32_t *ids;
  float *dst;
} task;

static void work(void *arg, int ith, int nth) {
  const task *t = arg;
  uint64_t r0, r1;
  fr_split(t->p->n_rows, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++)
    t->tt->to_float(t->table + (uint64_t)t->ids[r] * t->p->row_bytes, t->dst + r * t->p->n_cols, t->p->n_cols);
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  const fr_get_rows_params *p = vp;
  const int32_t *ids = (const int32_t *)v[1].ptr;
  /* ids come from the caller's prompt: validate all before touching dst */
  for (uint32_t r = 0; r < p->n_rows; r++)
    if (ids[r] < 0 || (uint32_t)ids[r] >= p->n_vocab)
      return fr_fail(FR_E_INVALID, "%s: token id %d at row %u is outside the vocabulary [0, %u)", k->name, ids[r], r,
                     p->n_vocab);
  task t = {fr_get_type_traits(k->type), p, v[0].ptr, ids, (float *)v[2].ptr};
  if (v[0].fd >= 0 && p->n_rows <= FR_GET_ROWS_PREAD_MAX) {
    uint8_t *row = fr_scratch(dev, p->row_bytes);
    for (uint32_t r = 0; r < p->n_rows; r++) {
      const uint64_t at = (uint64_t)ids[r] * p->row_bytes;
      const uint8_t *src = row && read_row(v[0].fd, row, p->row_bytes, v[0].file_offset + (int64_t)at) ? row : t.table + at;
      t.tt->to_float(src, t.dst + (uint64_t)r * p->n_cols, p->n_cols);
    }
    return FR_OK;
  }
  fr_parallel(dev, work, &t, (uint64_t)p->n_rows * p->n_cols);
  return FR_OK;
}

static int available(int32_t type) {
  const fr_type_traits *t = fr_get_type_traits(type);
  return t && t->to_float;
}

const fr_kernel_desc fr_op_get_rows = {
    .n_bindings = 3,
    .params_size = sizeof(fr_get_rows_params),
    .writes = 1u << 2,
    .binding_names = {"table", "ids", "dst"},
    .check = check,
    .run = run,
    .available = available,
};
