/* device.c — the CPU "device": a thread pool, scratch memory and a name. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_variant.h"
#include "handles.h"
#include "objects.h"

#define FR_MAX_THREADS 256

static int online_cpus(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

fr_device *fr_device_get(int32_t handle) { return fr_handle_get(handle, FR_KIND_DEVICE, "device"); }

FR_EXPORT int32_t fr_device_open(int32_t n_threads) {
  int n = n_threads > 0 ? n_threads : online_cpus();
  if (n > FR_MAX_THREADS) n = FR_MAX_THREADS;
  fr_device *d = calloc(1, sizeof *d);
  if (!d) return fr_fail(FR_E_NOMEM, "cannot allocate device");
  d->pool = fr_pool_new(n);
  if (!d->pool) {
    free(d);
    return fr_fail(FR_E_DEVICE, "cannot start %d worker threads", n);
  }
  d->n_threads = n;
  /* "cpu avx2 (avx2 fma f16c bmi2, 8 threads)": which library variant the
   * loader chose is what a user comparing runs needs to see */
  char feats[64];
  snprintf(feats, sizeof feats, "%s", fr_cpu_features());
  size_t len = strlen(feats);
  if (len) feats[len - 1] = '\0'; /* trailing space */
  snprintf(d->name, sizeof d->name, "cpu %s (%s%s%d thread%s)", fr_cpu_variant(), feats, len ? ", " : "", n,
           n == 1 ? "" : "s");
  fr_api_lock();
  int32_t h = fr_handle_new(FR_KIND_DEVICE, d);
  fr_api_unlock();
  if (h < 0) {
    fr_pool_free(d->pool);
    free(d);
    return h;
  }
  d->handle = h;
  return h;
}

FR_EXPORT int32_t fr_device_close(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  int32_t rc = FR_OK;
  if (!d) {
    rc = FR_E_INVALID;
  } else if (d->n_live) {
    rc = fr_fail(FR_E_INVALID, "device %d still has %u live maps/buffers/plans", dev, d->n_live);
  } else {
    fr_handle_release(dev);
  }
  fr_api_unlock();
  if (rc == FR_OK) {
    fr_pool_free(d->pool);
    free(d->scratch);
    free(d);
  }
  return rc;
}

FR_EXPORT const char *fr_device_name(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  return d ? d->name : ""; /* never NULL: callers read it as a string */
}

FR_EXPORT int32_t fr_device_threads(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  return d ? d->n_threads : FR_E_INVALID;
}

FR_EXPORT int64_t fr_device_memory(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  if (!d) return FR_E_INVALID;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return fr_fail(FR_E_DEVICE, "cannot read physical memory size");
  return (int64_t)pages * page;
}
