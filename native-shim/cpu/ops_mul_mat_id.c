/*
 * ops_mul_mat_id.c — mul_mat_id_<type>: the matrix products of the experts
 * each token selected, and only those (ggml_mul_mat_id).
 *
 * Numerics as ggml's CPU mul_mat_id: each activation row is converted once
 * to the weight type's vec_dot_type and every output element is one vec_dot
 * (ggml never hands mul_mat_id to llamafile_sgemm, so there is no gemm
 * order to follow). Work: the (token, slot) pairs are grouped by expert and
 * each expert's activations gathered contiguously, so an expert's weight
 * rows are streamed once per tile of up to FR_MMID_PAIRS pairs however many
 * tokens chose it; tiles of FR_MMID_ROWS rows x pairs go out through an
 * atomic counter. Decode (one token) is n_used experts of one pair each.
 */
#include <stdatomic.h>
#include <string.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"
#include "quants.h"

#define FR_MMID_ROWS 16u
#define FR_MMID_PAIRS 32u

static uint64_t x_rows(const fr_mul_mat_id_params *p) {
  return (uint64_t)p->n_tokens * (p->x_per_slot ? p->n_used : 1);
}

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_mul_mat_id_params *p = vp;
  const fr_type_traits *tt = fr_get_type_traits(k->type);
  uint64_t rb = fr_row_bytes(k->type, p->n_cols);
  if (p->n_cols == 0 || rb == 0) return fr_bad_params(k, "n_cols %u is not a positive whole number of blocks", p->n_cols);
  if (fr_row_bytes(tt->vec_dot_type, p->n_cols) == 0)
    return fr_bad_params(k, "n_cols %u is not a whole number of activation blocks", p->n_cols);
  if (p->row_bytes != rb)
    return fr_bad_params(k, "row_bytes %u, rows of %u elements take %llu", p->row_bytes, p->n_cols, (unsigned long long)rb);
  if (p->n_expert == 0 || p->n_used == 0 || p->n_used > p->n_expert)
    return fr_bad_params(k, "n_used %u must be in 1..n_expert (%u)", p->n_used, p->n_expert);
  if (p->x_per_slot > 1) return fr_bad_params(k, "x_per_slot must be 0 or 1, got %u", p->x_per_slot);
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_expert, p->n_rows, rb), k->type == FR_TYPE_F32 ? 4 : 2)) ||
      (rc = fr_need(k, v, 1, fr_mul3(p->n_tokens, p->n_used, 4), 4)) ||
      (rc = fr_need(k, v, 2, fr_mul3(x_rows(p), p->n_cols, 4), 4)) ||
      (rc = fr_need(k, v, 3, fr_mul3(p->n_tokens, p->n_used, (uint64_t)p->n_rows * 4), 4)))
    return rc;
  return FR_OK;
}

typedef struct tile {
  uint32_t expert, pair0, pair1; /* pairs [pair0, pair1) of the expert-ordered list */
} tile;

typedef struct task {
  const fr_mul_mat_id_params *p;
  const fr_type_traits *tt;
  fr_from_float_fn quantize;
  const uint8_t *w;
  const float *x;
  uint8_t *xq;        /* activations in vec_dot_type, x's row order */
  uint8_t *xg;        /* the same rows gathered in pair order (prefill) */
  uint64_t xq_row_bytes;
  const uint32_t *pair_dst; /* pair -> destination row (t*n_used + s) */
  const uint32_t *pair_x;   /* pair -> activation row */
  float *dst;
  const tile *tiles;
  uint64_t row_tiles, n_tiles, n_pairs;
  atomic_uint_fast64_t next;
} task;

static void convert(void *arg, int ith, int nth) {
  task *t = arg;
  uint64_t r0, r1;
  fr_split(x_rows(t->p), ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++)
    t->quantize(t->x + r * t->p->n_cols, t->xq + r * t->xq_row_bytes, t->p->n_cols);
}

static void gather(void *arg, int ith, int nth) {
  task *t = arg;
  uint64_t r0, r1;
  fr_split(t->n_pairs, ith, nth, &r0, &r1);
  for (uint64_t i = r0; i < r1; i++)
    memcpy(t->xg + i * t->xq_row_bytes, t->xq + (uint64_t)t->pair_x[i] * t->xq_row_bytes, t->xq_row_bytes);
}

static void compute(void *arg, int ith, int nth) {
  (void)ith, (void)nth;
  task *t = arg;
  const fr_mul_mat_id_params *p = t->p;
  const fr_vec_dot_fn dot = t->tt->vec_dot;
  const fr_vec_dot4_fn dot4 = t->tt->vec_dot4;
  const uint64_t expert_bytes = (uint64_t)p->n_rows * p->row_bytes;
  float tmp[4];
  for (uint64_t u; (u = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed)) < t->n_tiles;) {
    const tile *tl = &t->tiles[u / t->row_tiles];
    const uint32_t row0 = (uint32_t)(u % t->row_tiles * FR_MMID_ROWS);
    const uint32_t row1 = row0 + FR_MMID_ROWS < p->n_rows ? row0 + FR_MMID_ROWS : p->n_rows;
    const uint8_t *we = t->w + tl->expert * expert_bytes;
    for (uint32_t r = row0; r < row1; r++) {
      const uint8_t *w = we + (uint64_t)r * p->row_bytes;
      uint32_t i = tl->pair0;
      if (dot4)
        for (; i + 4 <= tl->pair1; i += 4) {
          dot4((int)p->n_cols, tmp, 1, w, t->xg + (uint64_t)i * t->xq_row_bytes, t->xq_row_bytes);
          for (uint32_t j = 0; j < 4; j++) t->dst[(uint64_t)t->pair_dst[i + j] * p->n_rows + r] = tmp[j];
        }
      for (; i < tl->pair1; i++)
        dot((int)p->n_cols, t->dst + (uint64_t)t->pair_dst[i] * p->n_rows + r, w, t->xg + (uint64_t)i * t->xq_row_bytes);
    }
  }
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  const fr_mul_mat_id_params *p = vp;
  if (p->n_tokens == 0 || p->n_rows == 0) return FR_OK;
  const int32_t *ids = (const int32_t *)v[1].ptr;
  const uint64_t n_pairs = (uint64_t)p->n_tokens * p->n_used;
  for (uint64_t i = 0; i < n_pairs; i++)
    if (ids[i] < 0 || (uint32_t)ids[i] >= p->n_expert)
      return fr_fail(FR_E_INVALID, "%s: expert id %d at token %llu is outside [0, %u)", k->name, ids[i],
                     (unsigned long long)(i / p->n_used), p->n_expert);

  task t = {.p = p, .tt = fr_get_type_traits(k->type), .w = v[0].ptr, .x = (const float *)v[2].ptr,
            .dst = (float *)v[3].ptr, .n_pairs = n_pairs};
  const int32_t vd = t.tt->vec_dot_type;
  const uint64_t nx = x_rows(p);
  t.xq_row_bytes = vd == FR_TYPE_F32 ? (uint64_t)p->n_cols * sizeof(float) : fr_row_bytes(vd, p->n_cols);
  /* scratch: [quantized x][gathered x][pair_dst][pair_x][counts/offsets][tiles] */
  const uint64_t xq_bytes = vd == FR_TYPE_F32 ? 0 : t.xq_row_bytes * nx;
  const uint64_t xg_bytes = t.xq_row_bytes * n_pairs;
  const uint64_t idx_bytes = n_pairs * 4;
  const uint64_t off_bytes = ((uint64_t)p->n_expert + 1) * 4;
  const uint64_t max_tiles = n_pairs / FR_MMID_PAIRS + p->n_expert;
  const uint64_t tile_bytes = max_tiles * sizeof(tile);
  const uint64_t pad = 64;
  uint8_t *s = fr_scratch(dev, (size_t)(xq_bytes + xg_bytes + 2 * idx_bytes + off_bytes + tile_bytes + 6 * pad));
  if (!s) return fr_fail_context(FR_E_NOMEM, "%s: ", k->name);
#define TAKE(ptr, bytes) \
  do {                   \
    ptr = (void *)s;     \
    s += ((bytes) + pad - 1) / pad * pad; \
  } while (0)
  uint8_t *xq, *xg;
  uint32_t *pair_dst, *pair_x, *offs;
  tile *tiles;
  TAKE(xq, xq_bytes);
  TAKE(xg, xg_bytes);
  TAKE(pair_dst, idx_bytes);
  TAKE(pair_x, idx_bytes);
  TAKE(offs, off_bytes);
  TAKE(tiles, tile_bytes);
#undef TAKE

  if (vd == FR_TYPE_F32) {
    t.xq = (uint8_t *)v[2].ptr;
  } else {
    t.quantize = fr_get_type_traits(vd)->from_float;
    t.xq = xq;
    fr_parallel(dev, convert, &t, nx * p->n_cols);
  }

  /* group pairs by expert (counting sort, token order inside an expert) */
  memset(offs, 0, off_bytes);
  for (uint64_t i = 0; i < n_pairs; i++) offs[ids[i] + 1]++;
  for (uint32_t e = 0; e < p->n_expert; e++) offs[e + 1] += offs[e];
  uint64_t n_tiles = 0;
  for (uint32_t e = 0; e < p->n_expert; e++)
    for (uint32_t a = offs[e]; a < offs[e + 1]; a += FR_MMID_PAIRS)
      tiles[n_tiles++] = (tile){e, a, a + FR_MMID_PAIRS < offs[e + 1] ? a + FR_MMID_PAIRS : offs[e + 1]};
  for (uint64_t i = 0; i < n_pairs; i++) {
    const uint32_t e = (uint32_t)ids[i];
    const uint32_t at = offs[e]++;
    pair_dst[at] = (uint32_t)i;
    pair_x[at] = p->x_per_slot ? (uint32_t)i : (uint32_t)(i / p->n_used);
  }
  t.pair_dst = pair_dst;
  t.pair_x = pair_x;
  t.xg = xg;
  fr_parallel(dev, gather, &t, n_pairs * t.xq_row_bytes / 4);

  t.tiles = tiles;
  t.row_tiles = ((uint64_t)p->n_rows + FR_MMID_ROWS - 1) / FR_MMID_ROWS;
  t.n_tiles = n_tiles * t.row_tiles;
  atomic_init(&t.next, 0);
  fr_parallel(dev, compute, &t, n_pairs * p->n_rows * p->n_cols);
  return FR_OK;
}

const fr_kernel_desc fr_op_mul_mat_id = {
    .n_bindings = 4,
    .params_size = sizeof(fr_mul_mat_id_params),
    .writes = 1u << 3,
    .binding_names = {"W", "ids", "x", "dst"},
    .check = check,
    .run = run,
    .available = fr_type_dot_available,
};
