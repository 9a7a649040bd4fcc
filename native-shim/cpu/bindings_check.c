/* bindings_check.c — the shared vocabulary of every op's check(). */
#include <stdarg.h>
#include <stdio.h>

#include "kernel.h"
#include "quants.h"

int32_t fr_need(const fr_kernel_desc *k, const fr_view *v, uint32_t i, uint64_t bytes, uint32_t align) {
  const char *what = k->binding_names[i] ? k->binding_names[i] : "?";
  if (!v[i].ptr) return fr_fail(FR_E_INVALID, "%s: binding %u (%s) is not bound", k->name, i, what);
  if (align > 1 && (uintptr_t)v[i].ptr % align)
    return fr_fail(FR_E_INVALID, "%s: binding %u (%s) must be %u-byte aligned", k->name, i, what, align);
  if (bytes > v[i].bytes) {
    if (bytes == UINT64_MAX)
      return fr_fail(FR_E_INVALID, "%s: binding %u (%s) size overflows", k->name, i, what);
    return fr_fail(FR_E_INVALID, "%s: binding %u (%s) needs %llu bytes, buffer has %llu past the offset", k->name, i,
                   what, (unsigned long long)bytes, (unsigned long long)v[i].bytes);
  }
  if ((k->writes >> i & 1) && !v[i].writable)
    return fr_fail(FR_E_INVALID, "%s: binding %u (%s) is written but its buffer is a read-only mapping", k->name, i,
                   what);
  return FR_OK;
}

uint64_t fr_mul3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t ab, abc;
  if (__builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, &abc)) return UINT64_MAX;
  return abc;
}

int32_t fr_bad_params(const fr_kernel_desc *k, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fr_fail(FR_E_INVALID, "%s: %s", k->name, msg);
}

uint64_t fr_row_bytes(int32_t type, uint64_t n) {
  const fr_type_traits *t = fr_get_type_traits(type);
  if (!t || t->blck_size <= 0 || n % (uint64_t)t->blck_size) return 0;
  return n / (uint64_t)t->blck_size * (uint64_t)t->type_size;
}
