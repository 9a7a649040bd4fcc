/*
 * ferrum_cpu.h — what only the CPU executor exports, beside ferrum_shim.h.
 *
 * The CPU library is built once per ISA level (build/native/
 * libferrum_cpu-<variant>.so: portable, avx2, avx512, avx512bf16, native) and the loader
 * (src/backend/cpu-library.ts) picks the best one the running CPU can
 * execute. These two calls are how it asks; they are kept out of
 * ferrum_shim.h because the Metal shim implements that header and has no
 * ISA levels.
 */
#ifndef FERRUM_CPU_H
#define FERRUM_CPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the running CPU has every instruction-set feature this library
 * was compiled for, else 0. Safe to call on any CPU of the architecture:
 * it is the one function of an ISA-specific build that may run where the
 * rest of the library would fault. */
int32_t fr_cpu_supported(void);

/* The variant this library was built as ("portable", "avx2", ...). */
const char *fr_cpu_variant(void);

#ifdef __cplusplus
}
#endif

#endif
