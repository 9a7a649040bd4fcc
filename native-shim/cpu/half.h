/*
 * half.h — inline fp16 <-> fp32 for the hot loops (attention). With F16C the
 * hardware converts with round-to-nearest-even, exactly as ggml's CPU
 * backend does; without it the quant traits' portable versions are used.
 */
#ifndef FERRUM_CPU_HALF_H
#define FERRUM_CPU_HALF_H

#include <stdint.h>

#include "quants.h"

#if defined(__F16C__)
#include <immintrin.h>
static inline float fr_h2f(uint16_t h) { return _cvtsh_ss(h); }
static inline uint16_t fr_f2h(float f) { return (uint16_t)_cvtss_sh(f, 0); }
#else
static inline float fr_h2f(uint16_t h) { return fr_fp16_to_fp32(h); }
static inline uint16_t fr_f2h(float f) { return fr_fp32_to_fp16(f); }
#endif

#endif
