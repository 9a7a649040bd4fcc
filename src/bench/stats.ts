/** Arithmetic mean; 0 for no samples (as llama-bench). */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n - 1 in the denominator); 0 for fewer than two samples (as llama-bench). */
export function stddev(xs: readonly number[]): number {
  if (xs.length <= 1) return 0;
  const m = mean(xs);
  let sq = 0;
  for (const x of xs) sq += (x - m) * (x - m);
  return Math.sqrt(sq / (xs.length - 1));
}

/** Tokens per second of each timed repetition. */
export function tokensPerSecond(nTokens: number, samplesNs: readonly number[]): number[] {
  return samplesNs.map((ns) => (1e9 * nTokens) / ns);
}
