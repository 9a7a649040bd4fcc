/*
 * cpu_variant.c — which instruction-set features this build of the library
 * targets, and whether the running CPU has them (ferrum_cpu.h).
 *
 * The feature list and the runtime check sit side by side so they cannot
 * drift: the device name shows what fr_cpu_supported() checks.
 */
#include "cpu_variant.h"

#include "handles.h"

#ifndef FR_CPU_VARIANT
#define FR_CPU_VARIANT "custom" /* built by hand, not by scripts/build-native.mjs */
#endif

const char *fr_cpu_features(void) {
  return ""
#if defined(__AVX512F__)
         "avx512 "
#endif
#if defined(__AVX512VNNI__) || defined(__AVXVNNI__)
         "vnni "
#endif
#if defined(__AVX512BF16__)
         "bf16 "
#endif
#if defined(__AVX2__)
         "avx2 "
#endif
#if defined(__FMA__)
         "fma "
#endif
#if defined(__F16C__)
         "f16c "
#endif
#if defined(__BMI2__)
         "bmi2 "
#endif
#if defined(__ARM_NEON)
         "neon "
#endif
#if defined(__ARM_FEATURE_DOTPROD)
         "dotprod "
#endif
      ;
}

/*
 * This runs on CPUs that may lack what the rest of the file was compiled
 * for (the loader asks every built variant before choosing one), so it is
 * compiled for the architecture's baseline: under -march=x86-64-v3 GCC may
 * otherwise pick BMI or VEX encodings even for this integer code. GCC's
 * "arch=" resets every ISA flag of the command line for the function.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FR_BASELINE __attribute__((target("arch=x86-64")))
#define FR_HAS(feature) __builtin_cpu_supports(feature)
#else
#define FR_BASELINE
#endif

FR_EXPORT FR_BASELINE int32_t fr_cpu_supported(void) {
  int ok = 1;
#if defined(__x86_64__)
  __builtin_cpu_init(); /* idempotent; the answer must not depend on constructor order */
#if defined(__AVX2__)
  ok &= FR_HAS("avx2") != 0;
#endif
#if defined(__FMA__)
  ok &= FR_HAS("fma") != 0;
#endif
#if defined(__F16C__)
  ok &= FR_HAS("f16c") != 0;
#endif
#if defined(__BMI2__)
  ok &= FR_HAS("bmi2") != 0;
#endif
#if defined(__AVX512F__)
  ok &= FR_HAS("avx512f") != 0;
#endif
#if defined(__AVX512BW__)
  ok &= FR_HAS("avx512bw") != 0;
#endif
#if defined(__AVX512DQ__)
  ok &= FR_HAS("avx512dq") != 0;
#endif
#if defined(__AVX512CD__)
  ok &= FR_HAS("avx512cd") != 0;
#endif
#if defined(__AVX512VL__)
  ok &= FR_HAS("avx512vl") != 0;
#endif
#if defined(__AVX512VNNI__)
  ok &= FR_HAS("avx512vnni") != 0;
#endif
#if defined(__AVX512BF16__)
  ok &= FR_HAS("avx512bf16") != 0;
#endif
#endif
  /* Other architectures: a "native" build is for the machine that built
   * it; there is no portable feature query to check it against. */
  return ok;
}

FR_EXPORT const char *fr_cpu_variant(void) { return FR_CPU_VARIANT; }
