/*
 * plan.c — upload a step's ops once, replay with one call. Upload does all
 * the structural validation and resolves handles to pointers; replay only
 * patches dynamic fields, re-runs every op's check() (the patched values
 * change the extents) and executes. Nothing is allocated during replay.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "attn.h"
#include "ops_mul_mat.h"
#include "plan_profile.h"

#define FR_MAX_PLAN_OPS (1u << 20)
/* The most idle workers prefetch ahead of one op (see arm()): about what
 * the serial ops before it leave a worker time for. Decode steps
 * alternating between prefetching and not, in one process (Zen 5, 2
 * threads): matmul weights alone 0.985-0.994 of the time on all four bench
 * fixtures (512 KiB and 2 MiB within noise of 1 MiB); with attention's K
 * rows too, 0.970-0.999 (TinyLlama Q4_K_M and Q8_0, both ways round). */
#define FR_PLAN_PREFETCH_MAX ((uint64_t)1 << 20)

typedef struct fr_plan {
  int32_t handle;
  fr_device *dev;
  uint32_t n_ops;
  uint32_t n_patches;
  fr_bound_op *ops;
  fr_patch *patches;
  uint32_t *params; /* the blob's params, copied 4-byte aligned and patched in place */
} fr_plan;

static void release_buffers(fr_plan *p, uint32_t n_ops) {
  for (uint32_t i = 0; i < n_ops; i++)
    for (uint32_t j = 0; j < FR_MAX_BINDINGS; j++)
      if (p->ops[i].bufs[j]) p->ops[i].bufs[j]->n_plans--;
}

static void destroy(fr_plan *p) {
  free(p->ops);
  free(p->patches);
  free(p->params);
  free(p);
}

static int32_t validate_header(const uint8_t *blob, int64_t bytes, fr_plan_header *h) {
  if (!blob || bytes < (int64_t)sizeof *h) return fr_fail(FR_E_INVALID, "plan blob is shorter than its header");
  memcpy(h, blob, sizeof *h);
  if (h->magic != FR_PLAN_MAGIC) return fr_fail(FR_E_INVALID, "plan blob has bad magic 0x%08x", h->magic);
  if (h->version != FR_ABI_VERSION)
    return fr_fail(FR_E_INVALID, "plan blob version %u, this library speaks %d", h->version, FR_ABI_VERSION);
  if (h->n_ops > FR_MAX_PLAN_OPS) return fr_fail(FR_E_INVALID, "plan has %u ops (limit %u)", h->n_ops, FR_MAX_PLAN_OPS);
  if (h->params_bytes % 4) return fr_fail(FR_E_INVALID, "plan params_bytes %u is not a multiple of 4", h->params_bytes);
  uint64_t want = sizeof *h + (uint64_t)h->n_ops * sizeof(fr_op) + (uint64_t)h->n_patches * sizeof(fr_patch) +
                  h->params_bytes;
  if ((uint64_t)bytes != want)
    return fr_fail(FR_E_INVALID, "plan blob is %lld bytes, its header describes %llu", (long long)bytes,
                   (unsigned long long)want);
  return FR_OK;
}

static int32_t load_ops(fr_plan *p, const uint8_t *recs, uint32_t params_bytes) {
  for (uint32_t i = 0; i < p->n_ops; i++) {
    fr_op rec;
    memcpy(&rec, recs + (size_t)i * sizeof rec, sizeof rec);
    if (rec.params_offset % 4 || (uint64_t)rec.params_offset + rec.params_size > params_bytes) {
      release_buffers(p, i);
      return fr_fail(FR_E_INVALID, "plan op %u: params [%u, +%u) are misaligned or outside the %u-byte params blob",
                     i, rec.params_offset, rec.params_size, params_bytes);
    }
    int32_t rc = fr_bind_op(p->dev, &rec, &p->ops[i]);
    if (rc != FR_OK) {
      release_buffers(p, i);
      return fr_fail_context(rc, "plan op %u: ", i);
    }
    p->ops[i].params = p->params + rec.params_offset / 4;
    for (uint32_t j = 0; j < FR_MAX_BINDINGS; j++)
      if (p->ops[i].bufs[j]) p->ops[i].bufs[j]->n_plans++;
  }
  return FR_OK;
}

static int32_t check_patches(const fr_plan *p) {
  for (uint32_t i = 0; i < p->n_patches; i++) {
    const fr_patch *q = &p->patches[i];
    if (q->op >= p->n_ops) return fr_fail(FR_E_INVALID, "plan patch %u: op %u out of range", i, q->op);
    if (q->slot >= FR_MAX_SLOTS) return fr_fail(FR_E_INVALID, "plan patch %u: slot %u out of range", i, q->slot);
    if (q->offset % 4 || (uint64_t)q->offset + 4 > p->ops[q->op].k->params_size)
      return fr_fail(FR_E_INVALID, "plan patch %u: offset %u is outside op %u's %u-byte params", i, q->offset, q->op,
                     p->ops[q->op].k->params_size);
  }
  return FR_OK;
}

FR_EXPORT int32_t fr_plan_new(int32_t dev, const uint8_t *blob, int64_t bytes) {
  fr_plan_header h;
  int32_t rc = validate_header(blob, bytes, &h);
  if (rc != FR_OK) return rc;
  fr_plan *p = calloc(1, sizeof *p);
  if (!p) return fr_fail(FR_E_NOMEM, "cannot allocate plan");
  p->n_ops = h.n_ops;
  p->n_patches = h.n_patches;
  p->ops = calloc(h.n_ops ? h.n_ops : 1, sizeof *p->ops);
  p->patches = calloc(h.n_patches ? h.n_patches : 1, sizeof *p->patches);
  p->params = malloc(h.params_bytes ? h.params_bytes : 4);
  if (!p->ops || !p->patches || !p->params) {
    destroy(p);
    return fr_fail(FR_E_NOMEM, "cannot allocate a plan of %u ops", h.n_ops);
  }
  const uint8_t *recs = blob + sizeof h;
  const uint8_t *patches = recs + (size_t)h.n_ops * sizeof(fr_op);
  memcpy(p->patches, patches, (size_t)h.n_patches * sizeof(fr_patch));
  memcpy(p->params, patches + (size_t)h.n_patches * sizeof(fr_patch), h.params_bytes);

  fr_api_lock();
  p->dev = fr_device_get(dev);
  rc = p->dev ? load_ops(p, recs, h.params_bytes) : FR_E_INVALID;
  if (rc == FR_OK) {
    rc = check_patches(p);
    if (rc == FR_OK) rc = fr_handle_new(FR_KIND_PLAN, p);
    if (rc < 0) release_buffers(p, p->n_ops);
  }
  if (rc > 0) {
    p->handle = rc;
    p->dev->n_live++;
  }
  fr_api_unlock();
  if (rc < 0) destroy(p);
  return rc;
}

static int32_t apply_patches(fr_plan *p, const int32_t slots[FR_MAX_SLOTS]) {
  for (uint32_t i = 0; i < p->n_patches; i++) {
    const fr_patch *q = &p->patches[i];
    int64_t v = (int64_t)slots[q->slot] * q->scale + q->bias;
    if (v < INT32_MIN || v > (int64_t)UINT32_MAX)
      return fr_fail(FR_E_INVALID, "plan patch %u: value %lld does not fit 32 bits", i, (long long)v);
    uint32_t u = (uint32_t)v;
    memcpy((uint8_t *)p->ops[q->op].params + q->offset, &u, 4);
  }
  return FR_OK;
}

/* ops whose inputs idle workers fetch ahead of them */
static int prefetchable(const fr_bound_op *op) { return fr_is_mul_mat(op) || fr_is_attn(op); }

/* Points the pool's idle workers at what ops[next] will read first (the
 * worker's part of a matmul's weights, an attention's K rows then its V
 * rows), or at nothing when there is no such op left or it has nothing to
 * fetch. Decode steps alternating with and without the K rows (both ways
 * round, Zen 5): attention 6-13% less time (TinyLlama, Qwen3), steps
 * 0.991-1.000. V after K against K alone (Zen 4, both ways round):
 * attention another 5-8% less (TinyLlama, Qwen3). */
static void arm(const fr_plan *p, uint32_t next) {
  fr_span spans[FR_POOL_PREFETCH_SPANS];
  int n = 0;
  if (next < p->n_ops) {
    const fr_bound_op *op = &p->ops[next];
    if (fr_is_attn(op))
      n = fr_attn_kv_spans(op, FR_PLAN_PREFETCH_MAX, spans);
    else if (fr_mul_mat_worker_span(p->dev, op, fr_mul_mat_group_len(op, p->n_ops - next), FR_PLAN_PREFETCH_MAX,
                                    &spans[0].start, &spans[0].bytes))
      n = 1;
  }
  fr_pool_prefetch(p->dev->pool, spans, n);
}

FR_EXPORT int32_t fr_plan_run(int32_t plan, int32_t slot0, int32_t slot1, int32_t slot2, int32_t slot3) {
  const int32_t slots[FR_MAX_SLOTS] = {slot0, slot1, slot2, slot3};
  fr_api_lock();
#ifdef FR_PLAN_PROFILE
  fr_plan_profile_step_begin();
  const uint64_t step_t0 = fr_plan_profile_now();
#endif
  fr_plan *p = fr_handle_get(plan, FR_KIND_PLAN, "plan");
  int32_t rc = p ? apply_patches(p, slots) : FR_E_INVALID;
  /* check everything before running anything, so a bad slot value leaves
   * all outputs untouched */
  for (uint32_t i = 0; rc == FR_OK && i < p->n_ops; i++) {
    const fr_bound_op *op = &p->ops[i];
    rc = op->k->check(op->k, op->params, op->views);
    if (rc != FR_OK) fr_fail_context(rc, "plan op %u: ", i);
  }
  /* the next op after op i whose data idle workers can fetch ahead (a
   * mul_mat's weights, an attention's K rows), and the one they are
   * fetching for (UINT32_MAX: none) */
  uint32_t next = 0, armed = UINT32_MAX;
  for (uint32_t i = 0, n; rc == FR_OK && i < p->n_ops; i += n) {
    const fr_bound_op *op = &p->ops[i];
    n = fr_mul_mat_group_len(op, p->n_ops - i);
    if (p->dev->n_threads > 1) {
      if (next < i + n)
        for (next = i + n; next < p->n_ops && !prefetchable(&p->ops[next]); next++) {}
      if (armed != next) arm(p, next), armed = next;
    }
#ifdef FR_PLAN_PROFILE
    const uint64_t op_t0 = fr_plan_profile_now();
#endif
    rc = n > 1 ? fr_mul_mat_run_group(p->dev, op, n) : op->k->run(op->k, p->dev, op->params, op->views);
#ifdef FR_PLAN_PROFILE
    /* mul_mat ops only (mul_mat_id reads just the chosen experts: no rate) */
    uint64_t wbytes = 0;
    for (uint32_t j = 0; j < n; j++) wbytes += fr_mul_mat_weight_bytes(&op[j]);
    fr_plan_profile_op(op->k->name, n, wbytes, op_t0);
#endif
    if (rc != FR_OK) fr_fail_context(rc, "plan op %u: ", i);
  }
  if (armed != UINT32_MAX) fr_pool_prefetch(p->dev->pool, NULL, 0);
#ifdef FR_PLAN_PROFILE
  fr_plan_profile_step_end(step_t0);
#endif
  fr_api_unlock();
  return rc;
}

FR_EXPORT int32_t fr_plan_free(int32_t plan) {
  fr_api_lock();
  fr_plan *p = fr_handle_get(plan, FR_KIND_PLAN, "plan");
  if (p) {
    fr_handle_release(plan);
    release_buffers(p, p->n_ops);
    p->dev->n_live--;
  }
  fr_api_unlock();
  if (!p) return FR_E_INVALID;
  destroy(p);
  return FR_OK;
}
