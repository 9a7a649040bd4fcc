/* buffer.c — owned (zeroed, 64-byte aligned) and wrapped (zero-copy) buffers. */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "handles.h"
#include "objects.h"

#define FR_HUGE_PAGE ((size_t)2 << 20)

/*
 * Big buffers (repacked weights, KV caches, activations) are carved one
 * after another from slabs: anonymous mappings on 2 MiB boundaries, whole
 * 2 MiB pages long, asked for transparent huge pages. A decode step streams
 * through all the weights, and on 4 KiB pages every 4 KiB costs a TLB miss
 * and restarts the hardware prefetcher. Buffers of their own, as before,
 * got huge pages only for their whole 2 MiB pages inside: Qwen3-1.7B's
 * 2.4-10 MiB matrices left 24% of its repacked bytes on 4 KiB pages, and
 * those under 2 MiB (its K and V projections) had none. Carved back to
 * back, only each slab's last page is partly used. A slab is unmapped when
 * its last buffer is freed; the device keeps carving from the newest.
 * Fresh anonymous memory is zero, so carved buffers need no memset.
 */
#define FR_SLAB_MIN_BUFFER ((uint64_t)64 << 10)
#define FR_SLAB_BYTES ((size_t)64 << 20)

typedef struct fr_slab {
  uint8_t *base;
  size_t size, used;
  uint32_t n_live;
} fr_slab;

static void slab_unmap(fr_slab *s) {
  munmap(s->base, s->size);
  free(s);
}

/* a zeroed, 64-byte aligned piece of `bytes` (a multiple of 64) from d's
 * slab, or a new one; NULL if memory cannot be had. Under fr_api_lock. */
static uint8_t *slab_carve(fr_device *d, uint64_t bytes, fr_slab **from) {
  fr_slab *s = d->slab;
  if (!s || s->size - s->used < bytes) {
    if (bytes > SIZE_MAX - 2 * FR_HUGE_PAGE) return NULL;
    const size_t want = bytes > FR_SLAB_BYTES ? ((size_t)bytes + FR_HUGE_PAGE - 1) & ~(FR_HUGE_PAGE - 1) : FR_SLAB_BYTES;
    /* map a page more, then trim to the 2 MiB boundary inside */
    uint8_t *raw = mmap(NULL, want + FR_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uint8_t *base = (uint8_t *)(((uintptr_t)raw + FR_HUGE_PAGE - 1) & ~(uintptr_t)(FR_HUGE_PAGE - 1));
    if (base > raw) munmap(raw, (size_t)(base - raw));
    munmap(base + want, (size_t)(raw + FR_HUGE_PAGE - base));
#ifdef MADV_HUGEPAGE
    madvise(base, want, MADV_HUGEPAGE); /* advice only: without THP these are ordinary pages */
#endif
    fr_slab *n = malloc(sizeof *n);
    if (!n) {
      munmap(base, want);
      return NULL;
    }
    *n = (fr_slab){.base = base, .size = want};
    /* an old slab still has buffers (slab_release drops it with its last
     * one) and lives on until they are freed */
    d->slab = s = n;
  }
  uint8_t *p = s->base + s->used;
  s->used += bytes;
  s->n_live++;
  *from = s;
  return p;
}

/* under fr_api_lock; returns the slab to unmap outside it, if any. A
 * device's slab has buffers while it is set, so a device that closes (no
 * live buffers) has none left to unmap. */
static fr_slab *slab_release(fr_buffer *b) {
  fr_slab *s = b->slab;
  if (--s->n_live > 0) return NULL;
  if (b->dev->slab == s) b->dev->slab = NULL;
  return s;
}

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
  fr_buffer *b = calloc(1, sizeof *b);
  if (!b) return fr_fail(FR_E_NOMEM, "cannot allocate buffer");
  void *p = NULL;
  if (rounded < FR_SLAB_MIN_BUFFER) {
    if (posix_memalign(&p, 64, (size_t)rounded) != 0) {
      free(b);
      return fr_fail(FR_E_NOMEM, "cannot allocate a %lld-byte buffer", (long long)bytes);
    }
    memset(p, 0, (size_t)rounded);
  }
  fr_api_lock();
  int32_t h = FR_E_INVALID;
  fr_slab *gone = NULL;
  if (fr_device_get(dev) == d) {
    if (!p) p = slab_carve(d, rounded, &b->slab);
    if (!p) {
      h = fr_fail(FR_E_NOMEM, "cannot allocate a %lld-byte buffer", (long long)bytes);
    } else {
      b->dev = d, b->data = p, b->size = bytes;
      h = publish(b);
      if (h < 0 && b->slab) gone = slab_release(b);
    }
  }
  fr_api_unlock();
  if (h < 0) {
    if (!b->slab) free(p);
    if (gone) slab_unmap(gone);
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
  fr_slab *gone = NULL;
  if (!b) {
    rc = FR_E_INVALID;
  } else if (b->n_plans) {
    rc = fr_fail(FR_E_INVALID, "buffer %d is used by %u plan(s); free them first", buf, b->n_plans);
  } else {
    fr_handle_release(buf);
    b->dev->n_live--;
    if (b->map) b->map->n_wraps--;
    if (b->slab) gone = slab_release(b);
  }
  fr_api_unlock();
  if (rc == FR_OK) {
    if (!b->map && !b->slab) free(b->data);
    if (gone) slab_unmap(gone);
    free(b);
  }
  return rc;
}
