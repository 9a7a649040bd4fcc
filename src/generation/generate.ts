import type { Engine } from '../model/engine.js';
import type { Sampler } from '../sampling/sampler.js';
import { topLogprobs } from '../sampling/logprobs.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { StopStringFilter } from './stop-strings.js';

export type StopReason = 'eos' | 'length' | 'stop' | 'context' | 'interrupted';

export interface TokenLogprob {
  readonly id: number;
  readonly piece: string;
  readonly logprob: number;
}

export interface GeneratedToken extends TokenLogprob {
  readonly top: readonly TokenLogprob[];
}

export interface GenerateOptions {
  readonly sampler: Sampler;
  /** Stop after this many tokens; < 0: until EOS or the context is full. */
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** Called with text as soon as it is safe to show (whole characters, no stop-string prefix). */
  readonly onText?: (text: string) => void;
  /** Checked between tokens: Ctrl-C sets it. */
  readonly shouldStop?: () => boolean;
  /** Top candidates per generated token (0: none). */
  readonly logprobs: number;
  /** Tokens already in the KV cache before `prompt` (a chat continues from them). */
  readonly nPast?: number;
}

export interface GenerateResult {
  readonly text: string;
  readonly tokens: number[];
  readonly stopReason: StopReason;
  readonly promptMs: number;
  readonly genMs: number;
  /** Of genMs, the time inside the engine's native calls (the rest: sampling, detokenizing, JS, FFI entry). */
  readonly genNativeMs: number;
  readonly logprobs?: GeneratedToken[];
  /** Positions the KV cache now holds (the last sampled token is not evaluated). */
  readonly kvTokens: number;
}

/** log-softmax of one entry of the raw logits. */
function logprobOf(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return logits[id]! - max - Math.log(sum);
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
/** A turn of the event loop costs ~0.1 ms; one per this many ms keeps Ctrl-C prompt. */
const YIELD_EVERY_MS = 25;

/**
 * Prefill the prompt, then sample one token per step until EOS/EOT, a stop
 * string, the token limit or the end of the context. Async only so that
 * Ctrl-C (a signal handler) can run between tokens.
 */
export async function generate(engine: Engine, tok: Tokenizer, prompt: readonly number[], o: GenerateOptions): Promise<GenerateResult> {
  const nCtx = engine.options.nCtx;
  const nPast = o.nPast ?? 0;
  const t0 = performance.now();
  let logits = engine.eval(prompt, nPast)[0]!;
  let kvTokens = nPast + prompt.length;
  const promptMs = performance.now() - t0;

  const stream = tok.stream();
  const filter = new StopStringFilter(o.stop);
  const history = [...prompt];
  const tokens: number[] = [];
  const logprobs: GeneratedToken[] = [];
  let text = '';
  let stopReason: StopReason = 'length';
  const emit = (s: string): void => {
    if (s.length === 0) return;
    text += s;
    o.onText?.(s);
  };
  const t1 = performance.now();
  let lastYield = t1;
  const native0 = engine.decodeStats.nativeMs;
  for (;;) {
    if (o.maxTokens === 0) { stopReason = 'length'; break; }
    if (o.shouldStop?.()) { stopReason = 'interrupted'; break; }
    const id = o.sampler.sample(logits, history);
    if (o.logprobs > 0) {
      const top = topLogprobs(logits, o.logprobs).map((c) => ({ ...c, piece: tok.piece(c.id) }));
      const self = top.find((c) => c.id === id) ?? { id, piece: tok.piece(id), logprob: logprobOf(logits, id) };
      logprobs.push({ ...self, top });
    }
    if (tok.isEog(id)) { stopReason = 'eos'; break; }
    tokens.push(id);
    history.push(id);
    emit(filter.push(stream.push(id)));
    if (filter.matched) { stopReason = 'stop'; break; }
    if (o.maxTokens >= 0 && tokens.length >= o.maxTokens) { stopReason = 'length'; break; }
    if (nPast + history.length >= nCtx) { stopReason = 'context'; break; }
    logits = engine.evalNext(id, kvTokens); // a view: used before the next eval
    kvTokens++;
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  emit(filter.push(stream.flush()));
  emit(filter.flush());
  return {
    text, tokens, stopReason, promptMs, genMs: performance.now() - t1, genNativeMs: engine.decodeStats.nativeMs - native0, kvTokens,
    ...(o.logprobs > 0 ? { logprobs } : {}),
  };
}
