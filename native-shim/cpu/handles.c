/* handles.c — handle table, thread-local error message, API lock. */
#include "handles.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FR_HANDLE_INDEX_BITS 14
#define FR_HANDLE_SLOTS (1u << FR_HANDLE_INDEX_BITS)
/* serial stays in 1..FR_SERIAL_MAX so handles are positive int32 */
#define FR_SERIAL_MAX ((1u << (31 - FR_HANDLE_INDEX_BITS)) - 1)

typedef struct fr_slot {
  fr_kind kind;
  uint32_t serial;
  void *obj;
} fr_slot;

static fr_slot g_slots[FR_HANDLE_SLOTS];
static uint32_t g_next_serial = 1;
static uint32_t g_scan = 1; /* slot 0 unused: handle 0 means "none" */
static pthread_mutex_t g_api = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char g_error[512] = "no error";

void fr_api_lock(void) { pthread_mutex_lock(&g_api); }
void fr_api_unlock(void) { pthread_mutex_unlock(&g_api); }

int32_t fr_fail(int32_t code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  return code;
}

int32_t fr_fail_context(int32_t code, const char *fmt, ...) {
  char joined[128 + sizeof g_error];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(joined, 128, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > 127) n = 127;
  snprintf(joined + n, sizeof joined - (size_t)n, "%s", g_error);
  memcpy(g_error, joined, sizeof g_error - 1);
  g_error[sizeof g_error - 1] = '\0';
  return code;
}

FR_EXPORT const char *fr_last_error(void) { return g_error; }
FR_EXPORT int32_t fr_abi_version(void) { return FR_ABI_VERSION; }

int32_t fr_handle_new(fr_kind kind, void *obj) {
  for (uint32_t n = 0; n < FR_HANDLE_SLOTS - 1; n++) {
    uint32_t i = g_scan;
    g_scan = g_scan + 1 == FR_HANDLE_SLOTS ? 1 : g_scan + 1;
    if (g_slots[i].kind != FR_KIND_FREE) continue;
    uint32_t serial = g_next_serial;
    g_next_serial = g_next_serial == FR_SERIAL_MAX ? 1 : g_next_serial + 1;
    g_slots[i] = (fr_slot){kind, serial, obj};
    return (int32_t)((serial << FR_HANDLE_INDEX_BITS) | i);
  }
  return fr_fail(FR_E_NOMEM, "handle table full (%u live objects)", FR_HANDLE_SLOTS - 1);
}

static fr_slot *slot_of(int32_t handle) {
  if (handle <= 0) return NULL;
  uint32_t i = (uint32_t)handle & (FR_HANDLE_SLOTS - 1);
  uint32_t serial = (uint32_t)handle >> FR_HANDLE_INDEX_BITS;
  if (i == 0 || g_slots[i].kind == FR_KIND_FREE || g_slots[i].serial != serial) return NULL;
  return &g_slots[i];
}

void *fr_handle_get(int32_t handle, fr_kind kind, const char *what) {
  fr_slot *s = slot_of(handle);
  if (!s || s->kind != kind) {
    fr_fail(FR_E_INVALID, "bad %s handle %d", what, handle);
    return NULL;
  }
  return s->obj;
}

void fr_handle_release(int32_t handle) {
  fr_slot *s = slot_of(handle);
  if (s) *s = (fr_slot){FR_KIND_FREE, 0, NULL};
}
