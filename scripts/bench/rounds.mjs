// bench-vs-llamacpp's statistics over its runs (llama-bench JSON rows), and
// decode run by run: a shared machine's memory can change speed between two
// runs seconds apart, so a ratio of pooled means can hide that one tool's
// runs met slower minutes than the other's. Each run is set beside the probe
// taken right before it.

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/* a pp test (prompt only) and a tg test (decode only); pg rows are neither */
const isPrompt = (r) => r.n_prompt > 0 && r.n_gen === 0;
const isDecode = (r) => r.n_gen > 0 && r.n_prompt === 0;

/** Every run's samples of the pp and tg rows pooled: { pp: [t/s...], tg: [t/s...] }. */
export function pool(runs) {
  const rows = runs.flat();
  return { pp: rows.filter(isPrompt).flatMap((r) => r.samples_ts), tg: rows.filter(isDecode).flatMap((r) => r.samples_ts) };
}

/** The mean t/s of a run's decode row, or NaN if it has none (the mean of no samples). */
export const runDecode = (rows) => mean(pool([rows]).tg);

/**
 * runs: { llamacpp: rows[], ferrum: rows[] }, one entry per round (llama-bench
 * JSON rows); probes: bytes/s of the probe before each run, in the order the
 * runs were made (round 1 llama.cpp, round 1 ferrum, round 2 llama.cpp, ...);
 * bytes: weight bytes read per decoded token.
 * Returns one entry per round: each tool's decode t/s, the probe before it
 * (bytes/s) and the run's share of it, and ferrum / llama.cpp.
 */
export function decodeRounds(runs, probes, bytes) {
  const n = runs.llamacpp.length;
  if (runs.ferrum.length !== n || probes.length !== 2 * n) throw new Error(`${n} llama.cpp runs, ${runs.ferrum.length} ferrum runs, ${probes.length} probes`);
  const side = (rows, probe) => {
    const tg = runDecode(rows);
    return { tg, probe, share: (tg * bytes) / probe };
  };
  return runs.llamacpp.map((rows, i) => {
    const llamacpp = side(rows, probes[2 * i]);
    const ferrum = side(runs.ferrum[i], probes[2 * i + 1]);
    return { round: i + 1, llamacpp, ferrum, ratio: ferrum.tg / llamacpp.tg };
  });
}
