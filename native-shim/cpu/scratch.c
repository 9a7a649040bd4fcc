/* scratch.c — the device's grow-only working memory. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "handles.h"
#include "objects.h"

void *fr_scratch(fr_device *dev, size_t bytes) {
  if (bytes <= dev->scratch_bytes) return dev->scratch;
  /* grow geometrically so a slowly rising prompt length reallocates
   * O(log n) times, not once per step */
  size_t want = dev->scratch_bytes ? dev->scratch_bytes * 2 : 1u << 16;
  while (want < bytes) want *= 2;
  void *p = NULL;
  if (posix_memalign(&p, 64, want) != 0) {
    fr_fail(FR_E_NOMEM, "cannot allocate %zu bytes of scratch", want);
    return NULL;
  }
  free(dev->scratch);
  dev->scratch = p;
  dev->scratch_bytes = want;
  return p;
}
