// Types for rounds.mjs (imported by the tests).
export interface BenchRow {
  n_prompt: number;
  n_gen: number;
  samples_ts: number[];
}
export interface RoundSide {
  tg: number;
  probe: number;
  share: number;
}
export function mean(xs: readonly number[]): number;
export function pool(runs: readonly (readonly BenchRow[])[]): { pp: number[]; tg: number[] };
export function runDecode(rows: readonly BenchRow[]): number;
export function decodeRounds(
  runs: { llamacpp: readonly (readonly BenchRow[])[]; ferrum: readonly (readonly BenchRow[])[] },
  probes: readonly number[],
  bytes: number,
): { round: number; llamacpp: RoundSide; ferrum: RoundSide; ratio: number }[];
