/*
 * x86_simd.h — the one place the x86 kernels get their intrinsics from.
 * Normally <immintrin.h>. Under FR_SIMDE_AVX512 (test builds only, see
 * kernels.h) SIMDe instead: it maps every intrinsic the target has to the
 * native instruction and emulates the rest (the AVX-512 ones on an AVX2
 * machine) with the same integer results, so the AVX-512 kernels' bits can
 * be checked against the portable ones where no CPU runs them.
 */
#ifndef FERRUM_QUANTS_X86_SIMD_H
#define FERRUM_QUANTS_X86_SIMD_H

#if defined(FR_SIMDE_AVX512)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif

#endif
