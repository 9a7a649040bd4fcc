/*
 * objects.h — what the CPU executor's handles point at. Lifetimes are
 * explicit counts rather than reference-counted frees: closing something
 * still in use fails with a message, so TypeScript learns about the
 * ordering bug instead of native code reading freed memory later.
 */
#ifndef FERRUM_CPU_OBJECTS_H
#define FERRUM_CPU_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "threadpool.h"

typedef struct fr_device {
  int32_t handle;
  int n_threads;
  fr_pool *pool;
  uint32_t n_live;      /* maps, buffers and plans opened on it */
  uint8_t *scratch;     /* per-op working memory, grown, never shrunk */
  size_t scratch_bytes;
  struct fr_slab *slab; /* where the next big buffer is carved from (buffer.c); NULL when it has none */
  char name[96];
} fr_device;

typedef struct fr_map {
  int32_t handle;
  fr_device *dev;
  uint8_t *base;        /* PROT_READ, MAP_PRIVATE */
  int64_t size;
  int fd;               /* the file, open while mapped: get_rows reads rows with pread */
  uint32_t n_wraps;     /* buffers viewing this mapping */
} fr_map;

typedef struct fr_buffer {
  int32_t handle;
  fr_device *dev;
  uint8_t *data;
  int64_t size;
  fr_map *map;          /* non-NULL: a read-only view into a mapping */
  struct fr_slab *slab; /* non-NULL: data is carved from this slab */
  uint32_t n_plans;     /* plans holding a pointer to data */
} fr_buffer;

fr_device *fr_device_get(int32_t handle);
fr_buffer *fr_buffer_get(int32_t handle);

/* Scratch of at least `bytes` (64-byte aligned); NULL with FR_E_NOMEM set.
 * Grows only when a bigger op arrives, so steady-state replays never
 * allocate. */
void *fr_scratch(fr_device *dev, size_t bytes);

#endif
