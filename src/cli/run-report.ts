import chalk from 'chalk';
import type { GenerateResult } from '../generation/generate.js';

export interface RunTimings {
  readonly load_ms: number;
  readonly prompt_n: number;
  readonly prompt_ms: number;
  readonly prompt_per_second: number;
  readonly predicted_n: number;
  readonly predicted_ms: number;
  readonly predicted_per_second: number;
  /** Per generated token, the time outside the engine's native calls: sampling, detokenizing, the JS loop, FFI entry. */
  readonly predicted_outside_ms_per_token: number;
  /** That time as a share of all generation time. */
  readonly predicted_outside_share: number;
}

/** llama-server's timing names, so scripts that read its JSON read ferrum's. */
export function timings(loadMs: number, promptN: number, r: GenerateResult): RunTimings {
  const perSecond = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0);
  return {
    load_ms: round(loadMs),
    prompt_n: promptN,
    prompt_ms: round(r.promptMs),
    prompt_per_second: round(perSecond(promptN, r.promptMs)),
    predicted_n: r.tokens.length,
    predicted_ms: round(r.genMs),
    predicted_per_second: round(perSecond(r.tokens.length, r.genMs)),
    predicted_outside_ms_per_token: r.tokens.length > 0 ? Math.round(((r.genMs - r.genNativeMs) / r.tokens.length) * 1000) / 1000 : 0,
    predicted_outside_share: r.genMs > 0 ? Math.round(((r.genMs - r.genNativeMs) / r.genMs) * 10000) / 10000 : 0,
  };
}

const round = (v: number): number => Math.round(v * 100) / 100;

/** The --verbose summary (stderr): load, prompt and generation speed. */
export function summary(t: RunTimings, backend: string, stopReason: string, eager = false): string {
  const line = (label: string, value: string): string => `${chalk.dim(label.padEnd(11))}${value}`;
  return [
    line('backend', backend),
    line('load', `${t.load_ms.toFixed(0)} ms`),
    line('prompt', `${t.prompt_n} tokens in ${t.prompt_ms.toFixed(1)} ms (${t.prompt_per_second.toFixed(1)} tok/s)`),
    line('generation', `${t.predicted_n} tokens in ${t.predicted_ms.toFixed(1)} ms (${t.predicted_per_second.toFixed(1)} tok/s)`),
    line('overhead', `${t.predicted_outside_ms_per_token.toFixed(3)} ms/token outside native calls (${(t.predicted_outside_share * 100).toFixed(1)}% of generation: sampling, detokenizing, JS, FFI entry)${eager ? '; ops ran one call each (FERRUM_PROFILE/TRACE/DEBUG_SYNC), so this includes per-op JS dispatch that a replayed step does not pay' : ''}`),
    line('stopped', stopReason),
  ].join('\n');
}
