/* map.c — read-only file mappings: weights are read in place, never copied.
 * The file stays open while mapped: get_rows reads a decode step's few
 * embedding rows with pread (ops_get_rows.c says why). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handles.h"
#include "objects.h"

FR_EXPORT int32_t fr_map_file(int32_t dev, const char *path) {
  if (!path) return fr_fail(FR_E_INVALID, "fr_map_file: path is NULL");
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  if (!d) return FR_E_INVALID;

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fr_fail(FR_E_IO, "cannot open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fr_fail(FR_E_IO, "cannot stat %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fr_fail(FR_E_IO, "%s is not a regular file", path);
  }
  if (st.st_size == 0) {
    close(fd);
    return fr_fail(FR_E_IO, "%s is empty", path);
  }
  /* MAP_PRIVATE + PROT_READ: pages stay shared with the page cache and a
   * stray write faults instead of corrupting the model file. */
  void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  if (base == MAP_FAILED) {
    close(fd);
    return fr_fail(FR_E_IO, "cannot mmap %s: %s", path, strerror(e));
  }
  /* start reading ahead now: the first forward pass touches every weight */
  madvise(base, (size_t)st.st_size, MADV_WILLNEED);

  fr_map *m = calloc(1, sizeof *m);
  if (!m) {
    munmap(base, (size_t)st.st_size);
    close(fd);
    return fr_fail(FR_E_NOMEM, "cannot allocate map");
  }
  m->dev = d;
  m->base = base;
  m->size = st.st_size;
  m->fd = fd;
  fr_api_lock();
  int32_t h = fr_device_get(dev) == d ? fr_handle_new(FR_KIND_MAP, m) : FR_E_INVALID;
  if (h > 0) d->n_live++;
  fr_api_unlock();
  if (h < 0) {
    munmap(base, (size_t)st.st_size);
    close(fd);
    free(m);
    return h;
  }
  m->handle = h;
  return h;
}

FR_EXPORT int64_t fr_map_size(int32_t map) {
  fr_api_lock();
  fr_map *m = fr_handle_get(map, FR_KIND_MAP, "map");
  fr_api_unlock();
  return m ? m->size : FR_E_INVALID;
}

FR_EXPORT int32_t fr_map_close(int32_t map) {
  fr_api_lock();
  fr_map *m = fr_handle_get(map, FR_KIND_MAP, "map");
  int32_t rc = FR_OK;
  if (!m) {
    rc = FR_E_INVALID;
  } else if (m->n_wraps) {
    rc = fr_fail(FR_E_INVALID, "map %d is still wrapped by %u buffer(s); free them first", map, m->n_wraps);
  } else {
    fr_handle_release(map);
    m->dev->n_live--;
  }
  fr_api_unlock();
  if (rc == FR_OK) {
    munmap(m->base, (size_t)m->size);
    close(m->fd);
    free(m);
  }
  return rc;
}
