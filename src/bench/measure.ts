import type { TestShape } from './tests.js';
import type { TokenSource } from './token-source.js';

/**
 * What the measurement loop needs of an engine: a batch of tokens at
 * positions pos0.. of the context, and one decoded token at pos whose logits
 * stay in the engine (as llama_decode leaves them in its context for
 * llama-bench; copying 600 KB of Qwen3 logits out per token is not decode).
 */
export interface Evaluator {
  eval(tokens: readonly number[], pos0: number): unknown;
  evalNext(token: number, pos: number): unknown;
}

export type Phase =
  | { readonly kind: 'warmup' }
  | { readonly kind: 'depth'; readonly tokens: number }
  | { readonly kind: 'rep'; readonly rep: number; readonly reps: number };

export interface MeasureOptions {
  readonly reps: number;
  readonly warmup: boolean;
  readonly tokens: TokenSource;
  readonly onPhase?: (phase: Phase) => void;
}

/**
 * Prefill: the whole prompt in one eval at pos0 (0, or the test's depth).
 * Writing from pos0 again overwrites the previous repetition's KV rows, and
 * attention reads only positions below the current one, so no clear is needed.
 */
function prompt(engine: Evaluator, ids: readonly number[], pos0: number): void {
  engine.eval(ids, pos0);
}

/** Decode: n single-token evals from position pos0 (0 for a tg test: it has no prompt). */
function generate(engine: Evaluator, n: number, pos0: number, tokens: TokenSource): void {
  let token = pos0 === 0 ? tokens.first() : tokens.random();
  for (let i = 0; i < n; i++) {
    engine.evalNext(token, pos0 + i);
    token = tokens.random();
  }
}

/** One timed run, from position nDepth: the rows below it stay as the depth fill left them. */
function once(engine: Evaluator, t: TestShape, tokens: TokenSource): number {
  const depth = t.nDepth ?? 0;
  // Prompt ids are drawn before the clock starts; drawing decode ids inside is a few ns a token.
  const ids = t.nPrompt > 0 ? (depth === 0 ? tokens.prompt(t.nPrompt) : tokens.randoms(t.nPrompt)) : [];
  const t0 = process.hrtime.bigint();
  if (t.nPrompt > 0) prompt(engine, ids, depth);
  if (t.nGen > 0) generate(engine, t.nGen, depth + t.nPrompt, tokens);
  return Number(process.hrtime.bigint() - t0);
}

/**
 * Nanoseconds of each timed repetition, after one untimed warm-up as
 * llama-bench does it: the full prompt for a pp test, one token for a tg test
 * (both from an empty context). At a depth, the context is then filled with
 * nDepth random tokens, untimed, once: every repetition writes only at
 * positions from nDepth on, so each starts from the same cached rows, as
 * llama-bench's restored state gives it.
 */
export function measure(engine: Evaluator, t: TestShape, opts: MeasureOptions): number[] {
  if (opts.warmup) {
    opts.onPhase?.({ kind: 'warmup' });
    if (t.nPrompt > 0) once(engine, { nPrompt: t.nPrompt, nGen: 0 }, opts.tokens);
    if (t.nGen > 0) once(engine, { nPrompt: 0, nGen: 1 }, opts.tokens);
  }
  const depth = t.nDepth ?? 0;
  if (depth > 0) {
    opts.onPhase?.({ kind: 'depth', tokens: depth });
    engine.eval(opts.tokens.prompt(depth), 0);
  }
  const samples: number[] = [];
  for (let rep = 1; rep <= opts.reps; rep++) {
    opts.onPhase?.({ kind: 'rep', rep, reps: opts.reps });
    samples.push(once(engine, t, opts.tokens));
  }
  return samples;
}
