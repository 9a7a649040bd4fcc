// Which weight type a profiled symbol's time belongs to, for
// scripts/kernel-rates.mjs: llama.cpp's and ferrum's kernels name their
// weight type before their activations' (ggml_gemv_q4_K_8x8_q8_K,
// fr_gemm_q6_K_r8_q8_K), except ggml's Q4_0 gemv, which calls it q4_b32
// (gemv_q4_b32_8x8_q8_0_lut_avx<block<4, 8> >).

// symbols that run at load (repack_q4_K_to_q4_K_8_bl, fr_repack_q6_K_r8, the
// kernel's clear_page of fresh pages) or convert activations: not a weight
// kernel's time
const NOT_A_KERNEL = /repack_|quantize|from_float|to_float|clear_page/;
const ALIASES = { q4_0: ['q4_b32'] };

/** the weight type (of `types`, lower case) that `symbol` names first, if any */
export function typeInSymbol(symbol, types) {
  if (NOT_A_KERNEL.test(symbol)) return undefined;
  let best;
  let at = Infinity;
  for (const type of types) {
    for (const name of [type, ...(ALIASES[type] ?? [])]) {
      const m = new RegExp(`(?:^|[^a-z0-9])${name}(?![a-z0-9])`, 'i').exec(symbol);
      if (m && m.index < at) {
        best = type;
        at = m.index;
      }
    }
  }
  return best;
}

/** [{symbol, samples}] from `perf report -n --sort symbol --stdio` text */
export function parsePerfReport(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+\[[.k]\]\s+(.+?)\s*$/.exec(line);
    if (m) out.push({ symbol: m[2], samples: Number(m[1]) });
  }
  return out;
}

/**
 * Samples per weight type and the rest: load-time and activation symbols
 * left out, anything else that names no weight type of `types` in rest.
 */
export function samplesByType(symbols, types) {
  const perType = new Map(types.map((t) => [t, 0]));
  let rest = 0;
  for (const { symbol, samples } of symbols) {
    if (NOT_A_KERNEL.test(symbol)) continue;
    const type = typeInSymbol(symbol, types);
    if (type !== undefined) perType.set(type, perType.get(type) + samples);
    else rest += samples;
  }
  return { perType, rest };
}
