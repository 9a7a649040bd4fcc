// Types for kernel-symbols.mjs (imported by the tests).
export function typeInSymbol(symbol: string, types: Iterable<string>): string | undefined;
export function parsePerfReport(text: string): { symbol: string; samples: number }[];
export function samplesByType(
  symbols: readonly { symbol: string; samples: number }[],
  types: readonly string[],
): { perType: Map<string, number>; rest: number };
