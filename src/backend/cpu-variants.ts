/**
 * The builds of the CPU library, one per instruction-set level
 * (scripts/build-native.mjs makes them; its table must list the same
 * names and features).
 */
export const CPU_VARIANTS = ['avx512bf16', 'avx512', 'avx2', 'native', 'portable'] as const;

/** Best first: the order the loader tries them in. */
export type CpuVariant = (typeof CPU_VARIANTS)[number];

/** What each variant needs of the CPU, for the error when it lacks it. */
export const CPU_VARIANT_NEEDS: Readonly<Record<CpuVariant, string>> = {
  avx512bf16: 'AVX-512 F/BW/DQ/CD/VL, VNNI and BF16, plus AVX2/FMA/F16C/BMI2',
  avx512: 'AVX-512 F/BW/DQ/CD/VL and VNNI, plus AVX2/FMA/F16C/BMI2',
  avx2: 'AVX2, FMA, F16C and BMI2',
  native: 'the features of the CPU it was built on',
  portable: 'nothing beyond the architecture baseline',
};

export function isCpuVariant(v: string): v is CpuVariant {
  return (CPU_VARIANTS as readonly string[]).includes(v);
}

/**
 * The variants a default build makes on this architecture (x86-64: the
 * ISA levels; elsewhere: portable and -march=native); `native` on x86-64
 * is built only when asked for by name.
 */
export function archVariants(arch: string = process.arch): readonly CpuVariant[] {
  return arch === 'x64' ? ['avx512bf16', 'avx512', 'avx2', 'portable'] : ['native', 'portable'];
}
