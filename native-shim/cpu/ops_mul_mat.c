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
 * all the work), each thread streams a region of its own and then helps
 * with the others' from their far end (compute_decode): one unbroken
 * stream per thread keeps the prefetchers running (8-row tiles decode ~25%
 * slower than 512-row ones on Zen 3), and taking from the far end keeps a
 * late thread from holding up the join.
 */
#include <stdatomic.h>

#include "../../metal/ferrum_params.h"
#include "ops_mul_mat.h"
#include "quants.h"

#define FR_MM_ROWS 16u
/* 64 tokens a tile: each sweep over a matrix's rows streams all its weights
 * once, so pp512 streams them 8 times, not 16 as at 32 (Zen 5, 2 threads,
 * pp512: Qwen3-1.7B Q4_K_M +13%, TinyLlama Q4_K_M +9%, Q4_0/Q8_0/F16 within
 * noise); a tile's Q8_K activations (64 x 6144: 0.45 MB) still fit in L2
 * (the F16 tiles' f32 rows of 5632 do not, and measured no slower) */
#define FR_MM_TOKENS 64u
#define FR_MM_R8_GROUPS 2u
/* decode: a claim on a region is about this many weight bytes */
#define FR_MM_DECODE_CHUNK 32768u

static int32_t check_r8(const fr_kernel_desc *k, const void *vp, const fr_view *v);

/* the bytes of W, x and dst that the params address (UINT64_MAX on
 * overflow, which fails fr_need); checks and grouping both use them */
static uint64_t w_extent(const fr_mul_mat_params *p) { return fr_mul3(p->n_rows, p->row_bytes, 1); }
static uint64_t x_extent(const fr_mul_mat_params *p) { return fr_mul3(p->n_tokens, p->n_cols, 4); }
static uint64_t dst_extent(const fr_mul_mat_params *p) { return fr_mul3(p->n_tokens, p->n_rows, 4); }

/* W, x and dst hold what the params say (row_bytes already checked) */
static int32_t need_bindings(const fr_kernel_desc *k, const fr_mul_mat_params *p, const fr_view *v, uint32_t w_align) {
  int32_t rc;
  if ((rc = fr_need(k, v, 0, w_extent(p), w_align)) || (rc = fr_need(k, v, 1, x_extent(p), 4)) ||
      (rc = fr_need(k, v, 2, dst_extent(p), 4)))
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
  return need_bindings(k, p, v, k->type == FR_TYPE_F32 ? 4 : 2);
}

/* One mul_mat of a group: its weights, activations and share of the tiles. */
typedef struct member {
  const fr_mul_mat_params *p;
  const fr_type_traits *tt;
  const fr_r8_traits *r8; /* repacked weights: the kernel, else NULL */
  fr_vec_dot_fn dot;
  fr_vec_dot4_fn dot4;
  fr_dot_tile_fn dot_tile; /* gemm_dot's 4 rows x 1..6 tokens, where that is the dot */
  fr_dot_tile_fn dot_tile8; /* the same over 8 rows, where the build has it; reads xw */
  fr_from_float_fn quantize; /* NULL when x is used as is or another member quantizes it */
  fr_to_float_fn widen;      /* set with quantize where a tile8 reads xw: xq's values as f32 */
  uint32_t tile_rows;
  const uint8_t *w;
  const float *x;
  const uint8_t *xq; /* activations in vec_dot_type */
  uint64_t xq_row_bytes;
  const float *xw; /* xq's values widened to f32 (exact) for dot_tile8: each token's converted once, not per row */
  float *dst;
  uint64_t row_tiles, tiles;
  uint64_t units; /* decode: its rows in units of FR_R8_ROWS (the last may be short) */
  uint64_t first; /* group-wide index of its first tile (prefill) or unit (decode) */
} member;

/* decode: one thread's region of the group's units, [front, back) packed
 * as front | back << 32; its owner takes from the front, others from the
 * back. A cache line each, so claims on different regions do not contend. */
typedef struct region {
  _Alignas(64) atomic_uint_fast64_t span;
} region;

typedef struct group {
  member m[FR_MM_GROUP_MAX];
  uint32_t n;
  uint64_t tiles;            /* prefill: tiles of all members */
  atomic_uint_fast64_t next; /* prefill: the next tile */
  uint64_t units;            /* decode: units of all members, end to end */
  uint64_t chunk;            /* decode: units per claim */
  region *regions;           /* decode: one per thread (in scratch) */
} group;

static uint64_t pad64(uint64_t n) { return (n + 63) & ~(uint64_t)63; }

/* decode: a matrix's rows in units of FR_R8_ROWS (the last may be short);
 * run_group's regions and fr_mul_mat_worker_span both count in these */
static uint64_t decode_units(const fr_mul_mat_params *p) { return ((uint64_t)p->n_rows + FR_R8_ROWS - 1) / FR_R8_ROWS; }

static int is_r8(const fr_kernel_desc *k) { return k->check == check_r8; }

static void convert(void *arg, int ith, int nth) {
  const member *m = arg;
  uint64_t r0, r1;
  fr_split(m->p->n_tokens, ith, nth, &r0, &r1);
  for (uint64_t r = r0; r < r1; r++) {
    uint8_t *q = (uint8_t *)m->xq + r * m->xq_row_bytes;
    m->quantize(m->x + r * m->p->n_cols, q, m->p->n_cols);
    if (m->widen) m->widen(q, (float *)m->xw + r * m->p->n_cols, m->p->n_cols);
  }
}

/* one register tile's rows at r for tokens [tok0, tok1), in tiles of up to
 * six tokens; the last tokens split evenly rather than leave a thin tile */
static void run_tile(const member *m, fr_dot_tile_fn tile, uint32_t r, uint32_t tok0, uint32_t tok1, const uint8_t *a,
                     uint64_t a_row_bytes) {
  const fr_mul_mat_params *p = m->p;
  for (uint32_t k = tok0, nt; k < tok1; k += nt) {
    const uint32_t rest = tok1 - k;
    nt = rest <= FR_DOT_TILE_TOKENS ? rest : rest < 2 * FR_DOT_TILE_TOKENS ? (rest + 1) / 2 : FR_DOT_TILE_TOKENS;
    tile((int)p->n_cols, (int)nt, m->dst + (uint64_t)k * p->n_rows + r, p->n_rows, m->w + (uint64_t)r * p->row_bytes,
         p->row_bytes, a + k * a_row_bytes, a_row_bytes);
  }
}

/* rows [row0, row1) of m for tokens [tok0, tok1); row0 a multiple of 8 */
static void run_rows(const member *m, uint32_t row0, uint32_t row1, uint32_t tok0, uint32_t tok1) {
  const fr_mul_mat_params *p = m->p;
  if (m->r8) {
    uint32_t r = row0;
    /* sixteen rows per pass where the build has it; not at one token,
     * where two weight streams per thread read memory slower than one */
    if (m->r8->gemm2 && tok1 - tok0 >= 2)
      for (; r + 2 * FR_R8_ROWS <= row1; r += 2 * FR_R8_ROWS)
        m->r8->gemm2((int)p->n_cols, (int)(tok1 - tok0), m->dst + (uint64_t)tok0 * p->n_rows + r, p->n_rows,
                     m->w + (uint64_t)r * p->row_bytes, (size_t)FR_R8_ROWS * p->row_bytes,
                     m->xq + tok0 * m->xq_row_bytes, m->xq_row_bytes);
    for (; r < row1; r += FR_R8_ROWS)
      m->r8->gemm((int)p->n_cols, (int)(tok1 - tok0), m->dst + (uint64_t)tok0 * p->n_rows + r, p->n_rows,
                  m->w + (uint64_t)r * p->row_bytes, m->xq + tok0 * m->xq_row_bytes, m->xq_row_bytes);
    return;
  }
  uint32_t r = row0;
  /* register tiles of eight, then four rows where the type has them */
  if (m->dot_tile8)
    for (; r + 8 <= row1; r += 8)
      run_tile(m, m->dot_tile8, r, tok0, tok1, (const uint8_t *)m->xw, (uint64_t)p->n_cols * sizeof(float));
  if (m->dot_tile)
    for (; r + 4 <= row1; r += 4) run_tile(m, m->dot_tile, r, tok0, tok1, m->xq, m->xq_row_bytes);
  for (; r < row1; r++) {
    const uint8_t *w = m->w + (uint64_t)r * p->row_bytes;
    uint32_t k = tok0;
    /* four tokens per pass over the weight row where the type has it */
    if (m->dot4)
      for (; k + 4 <= tok1; k += 4)
        m->dot4((int)p->n_cols, m->dst + (uint64_t)k * p->n_rows + r, p->n_rows, w, m->xq + k * m->xq_row_bytes,
                m->xq_row_bytes);
    for (; k < tok1; k++) m->dot((int)p->n_cols, m->dst + (uint64_t)k * p->n_rows + r, w, m->xq + k * m->xq_row_bytes);
  }
}

/* Prefill: tiles of all members come from one counter, members in order. */
static void compute(void *arg, int ith, int nth) {
  (void)ith, (void)nth;
  group *g = arg;
  for (uint64_t u; (u = atomic_fetch_add_explicit(&g->next, 1, memory_order_relaxed)) < g->tiles;) {
    uint32_t i = 0;
    while (u >= g->m[i].first + g->m[i].tiles) i++;
    const member *m = &g->m[i];
    u -= m->first;
    const uint32_t tok0 = (uint32_t)(u / m->row_tiles * FR_MM_TOKENS), row0 = (uint32_t)(u % m->row_tiles * m->tile_rows);
    const uint32_t tok1 = tok0 + FR_MM_TOKENS < m->p->n_tokens ? tok0 + FR_MM_TOKENS : m->p->n_tokens;
    const uint32_t row1 = row0 + m->tile_rows < m->p->n_rows ? row0 + m->tile_rows : m->p->n_rows;
    run_rows(m, row0, row1, tok0, tok1);
  }
}

/* the group's units [a, b), across members as needed */
static void run_units(const group *g, uint64_t a, uint64_t b) {
  for (uint32_t i = 0; i < g->n && a < b; i++) {
    const member *m = &g->m[i];
    const uint64_t end = m->first + m->units;
    if (a >= end) continue;
    const uint64_t e = b < end ? b : end;
    const uint32_t r1 = e == end ? m->p->n_rows : (uint32_t)((e - m->first) * FR_R8_ROWS);
    run_rows(m, (uint32_t)((a - m->first) * FR_R8_ROWS), r1, 0, 1);
    a = e;
  }
}

/* claims up to `chunk` units of rg, from the front for its owner, else from
 * the back; 0 once the region is empty */
static int claim(region *rg, int owner, uint64_t chunk, uint64_t *a, uint64_t *b) {
  uint64_t s = atomic_load_explicit(&rg->span, memory_order_relaxed);
  for (;;) {
    const uint64_t front = s & 0xffffffffu, back = s >> 32;
    if (front >= back) return 0;
    uint64_t next;
    if (owner) {
      *a = front;
      *b = back - front > chunk ? front + chunk : back;
      next = back << 32 | *b;
    } else {
      *a = back - front > chunk ? back - chunk : front;
      *b = back;
      next = *a << 32 | front;
    }
    if (atomic_compare_exchange_weak_explicit(&rg->span, &s, next, memory_order_relaxed, memory_order_relaxed)) return 1;
  }
}

/* Decode: part ith streams its own region front to back, then takes what
 * is left of the others' from their back ends. Against claiming shrinking
 * runs from one shared cursor (each claim a new stream for the thread that
 * takes it), a decode step took 1-4% less time on Zen 5 (steps alternating
 * between the two in one process, all four bench fixtures). */
static void compute_decode(void *arg, int ith, int nth) {
  group *g = arg;
  uint64_t a, b;
  for (int k = 0; k < nth; k++)
    while (claim(&g->regions[(ith + k) % nth], k == 0, g->chunk, &a, &b)) run_units(g, a, b);
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
  return need_bindings(k, p, v, 2);
}

static void init_member(member *m, const fr_kernel_desc *k, const void *params, const fr_view *v) {
  const fr_mul_mat_params *p = params;
  *m = (member){.p = p, .tt = fr_get_type_traits(k->type), .w = v[0].ptr, .x = (const float *)v[1].ptr,
                .dst = (float *)v[2].ptr, .tile_rows = FR_MM_ROWS};
  if (is_r8(k)) {
    m->r8 = fr_get_r8_traits(k->type);
    m->tile_rows = FR_R8_ROWS * FR_MM_R8_GROUPS;
  } else {
    m->dot = fr_gemm_dot_applies(m->tt, p->n_rows, p->n_cols, p->n_tokens) ? m->tt->gemm_dot : m->tt->vec_dot;
    /* each bit-identical to calling the dot in use once per row and token */
    m->dot4 = m->dot == m->tt->vec_dot ? m->tt->vec_dot4 : NULL;
    m->dot_tile = m->dot == m->tt->gemm_dot ? m->tt->gemm_dot_tile : NULL;
    m->dot_tile8 = m->dot == m->tt->gemm_dot ? m->tt->gemm_dot_tile8 : NULL;
  }
}

/* Runs g's members (same x, same n_cols and n_tokens) as one parallel
 * section; `name` prefixes an allocation failure. */
static int32_t run_group(fr_device *dev, group *g, const char *name) {
  const uint32_t n_tokens = g->m[0].p->n_tokens;
  if (n_tokens == 0) return FR_OK;
  uint64_t scratch_bytes = 0;
  /* each activation format is made once: a member whose vec_dot_type an
   * earlier one has takes that one's rows (from[i] = i: it makes its own) */
  uint32_t from[FR_MM_GROUP_MAX];
  for (uint32_t i = 0; i < g->n; i++) {
    member *m = &g->m[i];
    const int32_t vd = m->tt->vec_dot_type;
    from[i] = i;
    if (vd == FR_TYPE_F32) {
      m->xq = (const uint8_t *)m->x;
      m->xw = m->x;
      m->xq_row_bytes = (uint64_t)m->p->n_cols * sizeof(float);
      continue;
    }
    m->xq_row_bytes = fr_row_bytes(vd, m->p->n_cols);
    for (uint32_t j = 0; j < i && from[i] == i; j++)
      if (g->m[j].tt->vec_dot_type == vd) from[i] = j;
    if (from[i] == i) {
      m->quantize = fr_get_type_traits(vd)->from_float;
      scratch_bytes += pad64(m->xq_row_bytes * n_tokens);
    }
    /* the format's maker widens it if any member reading it runs tile8 */
    if (m->dot_tile8 && !g->m[from[i]].widen) {
      g->m[from[i]].widen = fr_get_type_traits(vd)->to_float;
      scratch_bytes += (uint64_t)n_tokens * m->p->n_cols * sizeof(float);
    }
  }
  /* decode's regions first: scratch is 64-byte aligned */
  const uint64_t region_bytes = n_tokens == 1 ? (uint64_t)dev->n_threads * sizeof(region) : 0;
  scratch_bytes += region_bytes;
  uint8_t *scratch = scratch_bytes ? fr_scratch(dev, (size_t)scratch_bytes) : NULL;
  if (scratch_bytes && !scratch) return fr_fail_context(FR_E_NOMEM, "%s: ", name);
  uint8_t *const regions_at = scratch;
  if (region_bytes) scratch += region_bytes;
  for (uint32_t i = 0; i < g->n; i++) {
    member *m = &g->m[i];
    if (m->quantize) {
      m->xq = scratch;
      scratch += pad64(m->xq_row_bytes * n_tokens);
      if (m->widen) {
        m->xw = (const float *)scratch;
        scratch += (uint64_t)n_tokens * m->p->n_cols * sizeof(float);
      }
      fr_parallel(dev, convert, m, (uint64_t)n_tokens * m->p->n_cols);
    } else if (from[i] != i) {
      m->xq = g->m[from[i]].xq;
      m->xw = g->m[from[i]].xw;
    }
  }
  uint64_t work = 0;
  g->tiles = g->units = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    member *m = &g->m[i];
    m->row_tiles = ((uint64_t)m->p->n_rows + m->tile_rows - 1) / m->tile_rows;
    m->tiles = m->p->n_rows ? m->row_tiles * (((uint64_t)n_tokens + FR_MM_TOKENS - 1) / FR_MM_TOKENS) : 0;
    m->units = decode_units(m->p);
    m->first = n_tokens == 1 ? g->units : g->tiles;
    g->tiles += m->tiles;
    g->units += m->units;
    work += (uint64_t)m->p->n_rows * m->p->n_cols * n_tokens;
  }
  if (n_tokens > 1) {
    atomic_init(&g->next, 0);
    fr_parallel(dev, compute, g, work);
    return FR_OK;
  }
  const int nth = fr_parallel_threads(dev, work);
  g->regions = (region *)regions_at;
  for (int t = 0; t < nth; t++) {
    uint64_t a, b;
    fr_split(g->units, t, nth, &a, &b);
    atomic_init(&g->regions[t].span, b << 32 | a);
  }
  const uint64_t unit_bytes = (uint64_t)g->m[0].p->row_bytes * FR_R8_ROWS;
  g->chunk = unit_bytes >= FR_MM_DECODE_CHUNK ? 1 : FR_MM_DECODE_CHUNK / unit_bytes;
  fr_parallel(dev, compute_decode, g, work);
  return FR_OK;
}

static int32_t run(const fr_kernel_desc *k, fr_device *dev, const void *vp, const fr_view *v) {
  group g = {.n = 1};
  init_member(&g.m[0], k, vp, v);
  return run_group(dev, &g, k->name);
}

static int overlaps(const uint8_t *a, uint64_t an, const uint8_t *b, uint64_t bn) { return a < b + bn && b < a + an; }

static uint64_t w_bytes(const fr_bound_op *op) { return w_extent(op->params); }
static uint64_t x_bytes(const fr_bound_op *op) { return x_extent(op->params); }
static uint64_t dst_bytes(const fr_bound_op *op) { return dst_extent(op->params); }

uint32_t fr_mul_mat_group_len(const fr_bound_op *ops, uint32_t n_avail) {
  if (n_avail == 0 || ops[0].k->run != run) return 1;
  const fr_mul_mat_params *p0 = ops[0].params;
  uint32_t n = 1;
  for (; n < n_avail && n < FR_MM_GROUP_MAX; n++) {
    const fr_bound_op *op = &ops[n];
    const fr_mul_mat_params *p = op->params;
    if (op->k->run != run || op->views[1].ptr != ops[0].views[1].ptr || p->n_cols != p0->n_cols ||
        p->n_tokens != p0->n_tokens)
      break;
    /* independent: no member's output is read or written by another (x is
     * quantized once, before any member runs) */
    int clash = overlaps(op->views[2].ptr, dst_bytes(op), ops[0].views[1].ptr, x_bytes(&ops[0])) ||
                (n == 1 && overlaps(ops[0].views[2].ptr, dst_bytes(&ops[0]), ops[0].views[1].ptr, x_bytes(&ops[0])));
    for (uint32_t j = 0; j <= n && !clash; j++)
      clash = overlaps(op->views[2].ptr, dst_bytes(op), ops[j].views[0].ptr, w_bytes(&ops[j])) ||
              (j < n && (overlaps(op->views[2].ptr, dst_bytes(op), ops[j].views[2].ptr, dst_bytes(&ops[j])) ||
                         overlaps(op->views[0].ptr, w_bytes(op), ops[j].views[2].ptr, dst_bytes(&ops[j]))));
    if (clash) break;
  }
  return n;
}

int32_t fr_mul_mat_run_group(fr_device *dev, const fr_bound_op *ops, uint32_t n) {
  group g = {.n = n};
  for (uint32_t i = 0; i < n; i++) init_member(&g.m[i], ops[i].k, ops[i].params, ops[i].views);
  return run_group(dev, &g, ops[0].k->name);
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

int fr_is_mul_mat(const fr_bound_op *op) { return op->k->run == run; }

uint64_t fr_mul_mat_weight_bytes(const fr_bound_op *op) { return fr_is_mul_mat(op) ? w_extent(op->params) : 0; }

int fr_mul_mat_worker_span(const fr_device *dev, const fr_bound_op *ops, uint32_t n, uint64_t cap,
                           const uint8_t **start, uint64_t *bytes) {
  uint64_t units = 0, work = 0;
  for (uint32_t i = 0; i < n; i++) {
    const fr_mul_mat_params *p = ops[i].params;
    if (p->n_tokens != 1) return 0;
    units += decode_units(p);
    work += (uint64_t)p->n_rows * p->n_cols;
  }
  /* run_group's regions: thread t streams fr_split(units, t, nth) */
  const int nth = fr_parallel_threads(dev, work);
  if (nth < 2) return 0;
  uint64_t a, b;
  fr_split(units, nth - 1, nth, &a, &b);
  for (uint32_t i = 0; i < n; i++) {
    const fr_mul_mat_params *p = ops[i].params;
    const uint64_t mu = decode_units(p);
    if (a < mu) {
      const uint64_t off = a * FR_R8_ROWS * p->row_bytes, total = w_extent(p);
      if (off >= total) return 0;
      *start = ops[i].views[0].ptr + off;
      *bytes = total - off < cap ? total - off : cap;
      return 1;
    }
    a -= mu;
  }
  return 0;
}
