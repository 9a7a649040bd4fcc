/*
 * r8_prefetch.c — which CPU the x86 one-token r8 kernels prefetch for
 * (r8_prefetch.h). Read once when the library loads: the kernels branch on
 * it per row call, a branch that always goes the same way.
 */
#include "kernels.h"

#if FR_QUANTS_AVX2
#include "r8_prefetch.h"

int fr_r8_pf_zen4;

/* The loader asks every built variant whether this CPU runs it, so this
 * constructor runs on CPUs without the build's features: baseline code
 * only, as cpu_variant.c's check. */
__attribute__((constructor, target("arch=x86-64"))) static void fr_r8_pf_detect(void) {
  __builtin_cpu_init();
  /* AMD family 0x19 is Zen 3 and Zen 4; only Zen 4 has AVX-512 */
  fr_r8_pf_zen4 = __builtin_cpu_is("amdfam19h") && __builtin_cpu_supports("avx512f");
}
#endif
