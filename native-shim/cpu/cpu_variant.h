/* cpu_variant.h — private: the variant and features this build targets. */
#ifndef FERRUM_CPU_VARIANT_H
#define FERRUM_CPU_VARIANT_H

/* fr_cpu_supported() and fr_cpu_variant() are exports like ferrum_shim.h's. */
#pragma GCC visibility push(default)
#include "../include/ferrum_cpu.h"
#pragma GCC visibility pop

/* Space-separated, with a trailing space ("avx2 fma f16c bmi2 "), or "". */
const char *fr_cpu_features(void);

#endif
