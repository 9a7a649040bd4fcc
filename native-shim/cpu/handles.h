/*
 * handles.h — the handle table behind every int32 handle of the ABI, the
 * per-thread error message, and the one lock that serialises API calls.
 *
 * Handles are (serial << FR_HANDLE_INDEX_BITS) | slot, so a stale handle
 * whose slot was reused is still rejected (until the serial wraps).
 */
#ifndef FERRUM_CPU_HANDLES_H
#define FERRUM_CPU_HANDLES_H

#include <stdint.h>

/* Exported API symbols get default visibility; everything else is hidden
 * (-fvisibility=hidden), so the ABI header stays the only surface. */
#pragma GCC visibility push(default)
#include "../include/ferrum_shim.h"
#pragma GCC visibility pop

#define FR_EXPORT __attribute__((visibility("default")))

typedef enum fr_kind {
  FR_KIND_FREE = 0,
  FR_KIND_DEVICE,
  FR_KIND_MAP,
  FR_KIND_BUFFER,
  FR_KIND_PLAN,
} fr_kind;

/* Register obj; returns a handle > 0 or FR_E_NOMEM (table full). */
int32_t fr_handle_new(fr_kind kind, void *obj);
/* The object behind handle if it is of `kind`, else NULL with an error set
 * naming `what` ("buffer", "plan"...). */
void *fr_handle_get(int32_t handle, fr_kind kind, const char *what);
void fr_handle_release(int32_t handle);

/* Sets this thread's message (printf-style) and returns code, so failures
 * read `return fr_fail(FR_E_INVALID, "...", ...);`. */
int32_t fr_fail(int32_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends context ("plan op 7: ") to this thread's current message. */
int32_t fr_fail_context(int32_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One process-wide lock around every API entry point: ferrum's caller is a
 * single JS thread, so contention never happens, and a single lock rules
 * out free-while-running races without per-object reference juggling. */
void fr_api_lock(void);
void fr_api_unlock(void);

#endif
