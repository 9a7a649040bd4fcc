/*
 * ops_mul_mat.c — mul_mat_<type>: dst[t][r] = dot(W[r], x[t]).
 *
 * As in ggml, each activation row is converted once to the weight type's
 * vec_dot_type (q8_0, q8_K, f16...) and every dot product then runs in that
 * pair of formats, so results round like llama.cpp's. The summation order
 * is ggml's too: for 2+ tokens ggml's mul_mat hands f32/f16/bf16 weights to
 * llamafile_sgemm, whose order (traits gemm_dot) differs from the vec_dot
 * it uses for a single token (see fr_gemm_dot_applies). Work is cut into
 * tiles of FR_MM_ROWS weight rows x FR_MM_TOKENS tokens handed out through
 * an atomic counter: inside a tile one weight row is reused from L1 across
 * all its tokens, and the tile's activations stay in L2 across its rows.
 *
 * mul_mat_<type>_r8 is the same product over weights repacked eight rows
 * to a block (quants.h fr_r8_traits): tiles are whole groups of eight rows,
 * and one kernel call covers eight rows by up to four tokens.
 *
 * For a single token, in either layout (decode: streaming the weights is
 * all the work), each thread gets
 * about FR_MM_DECODE_TILES_PER_THREAD long runs of rows: long runs keep
 * the prefetchers streaming (8-row tiles decode ~25% slower than 512-row
 * ones on Zen 3), and more than one per thread still evens out a thread
 * that was descheduled for a while.
 */
#include <stdatomic.h>

#include "../../metal/ferrum_params.h"
#include "kernel.h"
#include "quants.h"

#define FR_MM_ROWS 16u
#define FR_MM_TOKENS 32u
#define FR_MM_R8_GROUPS 2u
#define FR_MM_DECODE_TILES_PER_THREAD 4u
#define FR_MM_DECODE_MIN_ROWS 32u

/* W (n_rows rows of rb bytes as stored), x and dst hold what the params say */
static int32_t need_bindings(const fr_kernel_desc *k, const fr_mul_mat_params *p, const fr_view *v, uint64_t rb,
                             uint32_t w_align) {
  int32_t rc;
  if ((rc = fr_need(k, v, 0, fr_mul3(p->n_rows, rb, 1), w_align)) ||
      (rc = fr_need(k, v, 1, fr_mul3(p->n_tokens, p->n_cols, 4), 4)) ||
      (rc = fr_need(k, v, 2, fr_mul3(p->n_tokens, p->n_rows, 4), 4)))
    return rc;
  return FR_OK;
}

static int32_t check(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_mul_mat_params *p = vp;
  const fr_type_traits *tt = fr_get_type_traits(k->type);
  uint64_t rb = fr_row_bytes(k->type, p->n_cols);
  if (p->n_cols == 0 || rb == 0) return fr_bad_params(k, "n_cols %u is not a positive whole number of blocks", p->n_cols);
  if (fr_row_bytes(tt->vec_dot_type, p->n_cols) == 0)
    return fr_bad_params(k, "n_cols %u is not a whole number of activation blocks", p->n_cols);
  if (p->row_bytes != rb)
    return fr_bad_params(k, "row_bytes %u, rows of %u elements take %llu", p->row_bytes, p->n_cols, (unsigned long long)rb);
  return need_bindings(k, p, v, rb, k->type == FR_TYPE_F32 ? 4 : 2);
}

typedef struct task {
  const fr_mul_mat_params *p;
  const fr_type_traits *tt;
  const fr_r8_traits *r8;   /* repacked weights: the kernel, else NULL */
  uint32_t tile_rows;
  fr_from_float_fn quantize;
  const uint8_t *w;
  const float *x;
  const uint8_t *xq; /* activations in vec_dot_type */
  uint64_t xq_row_bytes;
  float *dst;
  uint64_t row_tiles, tiles;
  atomic_uint_fast64_t next;
} task;

static void convert(void *arg, int ith, int nth) {
  task *t = arg;
  uint64_t r0, r1;
  fr_split(t->p->n_tokens, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++)
    t->quantize(t->x + r * t->p->n_cols, (uint8_t *)t->xq + r * t->xq_row_bytes, t->p->n_cols);
}

static void compute(void *arg, int ith, int nth) {
  (void)ith, (void)nth;
  task *t = arg;
  const fr_mul_mat_params *p = t->p;
  const fr_vec_dot_fn dot =
      fr_gemm_dot_applies(t->tt, p->n_rows, p->n_cols, p->n_tokens) ? t->tt->gemm_dot : t->tt->vec_dot;
  /* bit-identical to vec_dot, so only where vec_dot is the dot in use */
  const fr_vec_dot4_fn dot4 = dot == t->tt->vec_dot ? t->tt->vec_dot4 : NULL;
  for (uint64_t u; (u = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed)) < t->tiles;) {
    const uint32_t tok0 = (uint32_t)(u / t->row_tiles * FR_MM_TOKENS), row0 = (uint32_t)(u % t->row_tiles * t->tile_rows);
    const uint32_t tok1 = tok0 + FR_MM_TOKENS < p->n_tokens ? tok0 + FR_MM_TOKENS : p->n_tokens;
    const uint32_t row1 = row0 + t->tile_rows < p->n_rows ? row0 + t->tile_rows : p->n_rows;
    for (uint32_t r = row0; r < row1; r++) {
      const uint8_t *w = t->w + (uint64_t)r * p->row_bytes;
      uint32_t k = tok0;
      /* four tokens per pass over the weight row where the type has it */
      if (dot4)
        for (; k + 4 <= tok1; k += 4)
          dot4((int)p->n_cols, t->dst + (uint64_t)k * p->n_rows + r, p->n_rows, w, t->xq + k * t->xq_row_bytes,
               t->xq_row_bytes);
      for (; k < tok1; k++)
        dot((int)p->n_cols, t->dst + (uint64_t)k * p->n_rows + r, w, t->xq + k * t->xq_row_bytes);
    }
  }
}

static void compute_r8(void *arg, int ith, int nth) {
  (void)ith, (void)nth;
  task *t = arg;
  const fr_mul_mat_params *p = t->p;
  for (uint64_t u; (u = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed)) < t->tiles;) {
    const uint32_t tok0 = (uint32_t)(u / t->row_tiles * FR_MM_TOKENS), row0 = (uint32_t)(u % t->row_tiles * t->tile_rows);
    const uint32_t tok1 = tok0 + FR_MM_TOKENS < p->n_tokens ? tok0 + FR_MM_TOKENS : p->n_tokens;
    const uint32_t row1 = row0 + t->tile_rows < p->n_rows ? row0 + t->tile_rows : p->n_rows;
    for (uint32_t r = row0; r < row1; r += FR_R8_ROWS)
      t->r8->gemm((int)p->n_cols, (int)(tok1 - tok0), t->dst + (uint64_t)tok0 * p->n_rows + r, p->n_rows,
                  t->w + (uint64_t)r * p->row_bytes, t->xq + tok0 * t->xq_row_bytes, t->xq_row_bytes);
  }
}

static int32_t check_r8(const fr_kernel_desc *k, const void *vp, const fr_view *v) {
  const fr_mul_mat_params *p = vp;
  const fr_r8_traits *r8 = fr_get_r8_traits(k->type);
  const fr_type_traits *tt = fr_get_type_traits(k->type);
  if (p->n_cols == 0 || p->n_cols % (uint32_t)tt->blck_size)
    return fr_bad_params(k, "n_cols %u is not a positive whole number of blocks", p->n_cols);
  if (p->n_rows % FR_R8_ROWS) return fr_bad_params(k, "n_rows %u is not a multiple of %u", p->n_rows, FR_R8_ROWS);
  const uint64_t rb = (uint64_t)p->n_cols / (uint64_t)tt->blck_size * (uint64_t)r8->block_bytes / FR_R8_ROWS;
  if (p->row_bytes != rb)
    return fr_bad_params(k, "row_bytes %u, repacked rows of %u elements take %llu", p->row_bytes, p->n_cols, (unsigned long long)rb);
  return need_bindings(k, p, v, rb, 2);
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  const fr_mul_mat_params *p = vp;
  if (p->n_tokens == 0 || p->n_rows == 0) return FR_OK;
  task t = {.p = p, .tt = fr_get_type_traits(k->type), .w = v[0].ptr, .x = (const float *)v[1].ptr,
            .dst = (float *)v[2].ptr, .tile_rows = FR_MM_ROWS};
  if (k->check == check_r8) {
    t.r8 = fr_get_r8_traits(k->type);
    t.tile_rows = FR_R8_ROWS * FR_MM_R8_GROUPS;
  }
  if (p->n_tokens == 1) {
    /* a multiple of 8 rows, as repacked weights need */
    const uint32_t per = p->n_rows / ((uint32_t)dev->n_threads * FR_MM_DECODE_TILES_PER_THREAD);
    t.tile_rows = per < FR_MM_DECODE_MIN_ROWS ? FR_MM_DECODE_MIN_ROWS : (per + FR_R8_ROWS - 1) / FR_R8_ROWS * FR_R8_ROWS;
  }
  const int32_t vd = t.tt->vec_dot_type;
  if (vd == FR_TYPE_F32) {
    t.xq = v[1].ptr;
    t.xq_row_bytes = (uint64_t)p->n_cols * sizeof(float);
  } else {
    t.quantize = fr_get_type_traits(vd)->from_float;
    t.xq_row_bytes = fr_row_bytes(vd, p->n_cols);
    t.xq = fr_scratch(dev, (size_t)(t.xq_row_bytes * p->n_tokens));
    if (!t.xq) return fr_fail_context(FR_E_NOMEM, "%s: ", k->name);
    fr_parallel(dev, convert, &t, (uint64_t)p->n_tokens * p->n_cols);
  }
  t.row_tiles = ((uint64_t)p->n_rows + t.tile_rows - 1) / t.tile_rows;
  t.tiles = t.row_tiles * (((uint64_t)p->n_tokens + FR_MM_TOKENS - 1) / FR_MM_TOKENS);
  atomic_init(&t.next, 0);
  fr_parallel(dev, t.r8 ? compute_r8 : compute, &t, (uint64_t)p->n_rows * p->n_cols * p->n_tokens);
  return FR_OK;
}

const fr_kernel_desc fr_op_mul_mat = {
    .n_bindings = 3,
    .params_size = sizeof(fr_mul_mat_params),
    .writes = 1u << 2,
    .binding_names = {"W", "x", "dst"},
    .check = check,
    .run = run,
    .available = fr_type_dot_available,
};

static int r8_available(int32_t type) { return fr_type_dot_available(type) && fr_get_r8_traits(type) != NULL; }

const fr_kernel_desc fr_op_mul_mat_r8 = {
    .n_bindings = 3,
    .params_size = sizeof(fr_mul_mat_params),
    .writes = 1u << 2,
    .binding_names = {"W", "x", "dst"},
    .check = check_r8,
    .run = run,
    .available = r8_available,
};
