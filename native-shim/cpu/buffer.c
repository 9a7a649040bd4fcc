/* buffer.c — owned (zeroed, 64-byte aligned) and wrapped (zero-copy) buffers. */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "handles.h"
#include "objects.h"

#define FR_HUGE_PAGE ((size_t)2 << 20)

fr_buffer *fr_buffer_get(int32_t handle) { return fr_handle_get(handle, FR_KIND_BUFFER, "buffer"); }

static int32_t publish(fr_buffer *b) {
  int32_t h = fr_handle_new(FR_KIND_BUFFER, b);
  if (h > 0) {
    b->handle = h;
    b->dev->n_live++;
    if (b->map) b->map->n_wraps++;
  }
  return h;
}

FR_EXPORT int32_t fr_buffer_new(int32_t dev, int64_t bytes) {
  if (bytes < 0) return fr_fail(FR_E_INVALID, "fr_buffer_new: negative size %lld", (long long)bytes);
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  if (!d) return FR_E_INVALID;
  /* 64-byte alignment and rounding: every SIMD load stays inside one
   * allocation and rows of a KV cache start on cache lines */
  uint64_t rounded = ((uint64_t)bytes + 63) & ~(uint64_t)63;
  if (rounded == 0) rounded = 64;
  void *p = NULL;
  /* Big buffers (repacked weights, KV caches) on 2 MiB boundaries and asked
   * for transparent huge pages: a decode step streams through all of them,
   * and 4 KiB pages would cost a TLB miss every 4 KiB (and a fault each when
   * first written). Advice only: without THP they are ordinary pages. */
  const size_t align = rounded >= FR_HUGE_PAGE ? FR_HUGE_PAGE : 64;
  if (rounded > SIZE_MAX || posix_memalign(&p, align, (size_t)rounded) != 0)
    return fr_fail(FR_E_NOMEM, "cannot allocate a %lld-byte buffer", (long long)bytes);
#ifdef MADV_HUGEPAGE
  if (align == FR_HUGE_PAGE) madvise(p, (size_t)rounded, MADV_HUGEPAGE);
#endif
  memset(p, 0, (size_t)rounded);
  fr_buffer *b = calloc(1, sizeof *b);
  if (!b) {
    free(p);
    return fr_fail(FR_E_NOMEM, "cannot allocate buffer");
  }
  *b = (fr_buffer){.dev = d, .data = p, .size = bytes};
  fr_api_lock();
  int32_t h = fr_device_get(dev) == d ? publish(b) : FR_E_INVALID;
  fr_api_unlock();
  if (h < 0) {
    free(p);
    free(b);
  }
  return h;
}

FR_EXPORT int32_t fr_buffer_wrap(int32_t dev, int32_t map, int64_t offset, int64_t bytes) {
  fr_buffer *b = calloc(1, sizeof *b);
  if (!b) return fr_fail(FR_E_NOMEM, "cannot allocate buffer");
  fr_api_lock();
  int32_t h;
  fr_device *d = fr_device_get(dev);
  fr_map *m = d ? fr_handle_get(map, FR_KIND_MAP, "map") : NULL;
  if (!d || !m) {
    h = FR_E_INVALID;
  } else if (m->dev != d) {
    h = fr_fail(FR_E_INVALID, "map %d belongs to another device", map);
  } else if (offset < 0 || bytes < 0 || offset > m->size || bytes > m->size - offset) {
    h = fr_fail(FR_E_INVALID, "wrap range [%lld, +%lld) is outside map %d of %lld bytes", (long long)offset,
                (long long)bytes, map, (long long)m->size);
  } else {
    *b = (fr_buffer){.dev = d, .data = m->base + offset, .size = bytes, .map = m};
    h = publish(b);
  }
  fr_api_unlock();
  if (h < 0) free(b);
  return h;
}

FR_EXPORT void *fr_buffer_contents(int32_t buf) {
  fr_api_lock();
  fr_buffer *b = fr_buffer_get(buf);
  fr_api_unlock();
  return b ? b->data : NULL;
}

FR_EXPORT int64_t fr_buffer_size(int32_t buf) {
  fr_api_lock();
  fr_buffer *b = fr_buffer_get(buf);
  fr_api_unlock();
  return b ? b->size : FR_E_INVALID;
}

FR_EXPORT int32_t fr_buffer_free(int32_t buf) {
  fr_api_lock();
  fr_buffer *b = fr_buffer_get(buf);
  int32_t rc = FR_OK;
  if (!b) {
    rc = FR_E_INVALID;
  } else if (b->n_plans) {
    rc = fr_fail(FR_E_INVALID, "buffer %d is used by %u plan(s); free them first", buf, b->n_plans);
  } else {
    fr_handle_release(buf);
    b->dev->n_live--;
    if (b->map) b->map->n_wraps--;
  }
  fr_api_unlock();
  if (rc == FR_OK) {
    if (!b->map) free(b->data);
    free(b);
  }
  return rc;
}
