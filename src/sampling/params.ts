// Sampling parameters and their llama.cpp defaults.
//
// Defaults are those of `common_params_sampling` in llama.cpp's
// common/common.h (temp 0.80, top_k 40, top_p 0.95, min_p 0.05,
// penalty_last_n 64, penalty_repeat 1.00, penalty_freq 0.00,
// penalty_present 0.00, seed LLAMA_DEFAULT_SEED).

/** llama.cpp's LLAMA_DEFAULT_SEED (include/llama.h): "pick a random seed". */
export const LLAMA_DEFAULT_SEED = 0xffffffff;

export interface SamplingParams {
  /** <= 0: greedy (argmax after penalties). Applied last, after truncation. */
  temperature: number;
  /** Keep the k most likely tokens; 0 = off (llama.cpp: <= 0 uses the whole vocabulary). */
  topK: number;
  /** Nucleus: smallest set whose probability reaches topP; 1 = off. */
  topP: number;
  /** Drop tokens with p < minP · p_max; 0 = off. */
  minP: number;
  /** Divide positive / multiply negative logits of recent tokens; 1 = off. */
  repeatPenalty: number;
  /** How many of the most recent tokens the penalties look at; 0 = off. */
  repeatLastN: number;
  /** Subtracted once from the logit of every token among the recent ones; 0 = off. */
  presencePenalty: number;
  /** Subtracted count times from the logit of every recent token; 0 = off. */
  frequencyPenalty: number;
  /**
   * 32-bit seed of the draw. undefined (or -1, or LLAMA_DEFAULT_SEED, as
   * llama.cpp's `--seed -1`) picks a random one; Sampler.seed tells which.
   */
  seed?: number | undefined;
}

export const LLAMA_CPP_DEFAULTS: Readonly<SamplingParams> = Object.freeze({
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.0,
  repeatLastN: 64,
  presencePenalty: 0.0,
  frequencyPenalty: 0.0,
  seed: undefined,
});

/** The defaults with the given fields replaced (undefined fields keep the default). */
export function samplingParams(overrides: Partial<SamplingParams> = {}): SamplingParams {
  const out: SamplingParams = { ...LLAMA_CPP_DEFAULTS };
  for (const key of Object.keys(overrides) as (keyof SamplingParams)[]) {
    const v = overrides[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** True when the seed asks for a random one (undefined, -1 or LLAMA_DEFAULT_SEED). */
export function isRandomSeed(seed: number | undefined): boolean {
  return seed === undefined || seed === -1 || seed === LLAMA_DEFAULT_SEED;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

/**
 * The first problem with the parameters as a one-line message, or undefined
 * when they are usable. Ranges: temperature >= 0, topK integer >= 0,
 * 0 < topP <= 1, 0 <= minP <= 1, repeatPenalty > 0 (as llama.cpp's
 * --repeat-penalty), repeatLastN integer >= 0, penalties finite, seed an
 * integer in [-1, 2^32 - 1].
 */
export function validateSamplingParams(p: SamplingParams): string | undefined {
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const int = (v: unknown): v is number => finite(v) && Number.isInteger(v);
  if (!finite(p.temperature) || p.temperature < 0) {
    return `temperature must be a finite number >= 0 (0 = greedy), got ${fmt(p.temperature)}`;
  }
  if (!int(p.topK) || p.topK < 0) return `top-k must be an integer >= 0 (0 = off), got ${fmt(p.topK)}`;
  if (!finite(p.topP) || p.topP <= 0 || p.topP > 1) return `top-p must be in (0, 1] (1 = off), got ${fmt(p.topP)}`;
  if (!finite(p.minP) || p.minP < 0 || p.minP > 1) return `min-p must be in [0, 1] (0 = off), got ${fmt(p.minP)}`;
  if (!finite(p.repeatPenalty) || p.repeatPenalty <= 0 || !Number.isFinite(1 / p.repeatPenalty)) {
    return `repeat-penalty must be finite and > 0 (1 = off), got ${fmt(p.repeatPenalty)}`;
  }
  if (!int(p.repeatLastN) || p.repeatLastN < 0) {
    return `repeat-last-n must be an integer >= 0 (0 = off), got ${fmt(p.repeatLastN)}`;
  }
  if (!finite(p.presencePenalty)) return `presence-penalty must be a finite number, got ${fmt(p.presencePenalty)}`;
  if (!finite(p.frequencyPenalty)) return `frequency-penalty must be a finite number, got ${fmt(p.frequencyPenalty)}`;
  if (p.seed !== undefined && (!int(p.seed) || p.seed < -1 || p.seed > 0xffffffff)) {
    return `seed must be an integer in [0, 4294967295] (-1 = random), got ${fmt(p.seed)}`;
  }
  return undefined;
}
