import { describe, expect, it } from 'vitest';
import {
  LLAMA_CPP_DEFAULTS,
  RepetitionPenalties,
  Rng,
  Sampler,
  greedy,
  samplingParams,
  topKSelect,
  topLogprobs,
  validateSamplingParams,
  type SamplingParams,
} from '../src/sampling/index.js';
import { expNeg } from '../src/sampling/fastexp.js';
import { FullVocabScratch, minPFull } from '../src/sampling/truncation.js';
import { SeededRandom } from './helpers/random.js';

// Parameters with every truncation off, so a test turns on only what it checks.
const PLAIN: SamplingParams = samplingParams({ topK: 0, topP: 1, minP: 0, temperature: 1, seed: 1 });

const logitsOf = (probs: readonly number[]): Float32Array => Float32Array.from(probs, (p) => (p > 0 ? Math.log(p) : -Infinity));

function histogram(sampler: Sampler, logits: Float32Array, draws: number, recent: readonly number[] = []): Map<number, number> {
  const h = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const t = sampler.sample(logits, recent);
    h.set(t, (h.get(t) ?? 0) + 1);
  }
  return h;
}

/** Tokens outside `expected` never drawn, and a loose chi-square check on the rest. */
function expectDistribution(h: Map<number, number>, expected: ReadonlyMap<number, number>, draws: number): void {
  for (const id of h.keys()) expect(expected.has(id), `token ${id} drawn but outside the expected set`).toBe(true);
  let total = 0;
  for (const p of expected.values()) total += p;
  // Bins expecting fewer than 5 draws are pooled into one (the usual chi-square rule).
  let chi2 = 0;
  let bins = 0;
  let poolE = 0;
  let poolC = 0;
  for (const [id, p] of expected) {
    const e = (draws * p) / total;
    const c = h.get(id) ?? 0;
    if (e < 5) {
      poolE += e;
      poolC += c;
      continue;
    }
    chi2 += ((c - e) * (c - e)) / e;
    bins++;
  }
  if (poolE > 0) {
    chi2 += ((poolC - poolE) * (poolC - poolE)) / Math.max(poolE, 5);
    bins++;
  }
  const df = Math.max(1, bins - 1);
  // ~p < 1e-6 for small df; loose on purpose (the draws are seeded anyway).
  expect(chi2).toBeLessThan(df + 8 * Math.sqrt(2 * df) + 15);
}

function softmax(logits: ArrayLike<number>, temp = 1): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const e = Array.from(logits, (l) => Math.exp((l - max) / temp));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function entropy(h: Map<number, number>, draws: number): number {
  let s = 0;
  for (const c of h.values()) s -= (c / draws) * Math.log(c / draws);
  return s;
}

function randomLogits(rng: SeededRandom, n: number, scale = 3): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** Sort-based float64 nucleus: the reference for the O(n) one. */
function referenceTopP(logits: Float32Array, p: number): number[] {
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const max = logits[ids[0]!]!;
  const e = ids.map((i) => Math.exp(logits[i]! - max));
  const z = e.reduce((a, b) => a + b, 0);
  let cum = 0;
  for (let j = 0; j < ids.length; j++) {
    cum += e[j]!;
    if (cum >= p * z) return ids.slice(0, j + 1);
  }
  return ids;
}

describe('sampling parameters', () => {
  it('defaults are llama.cpp common_params_sampling', () => {
    expect(LLAMA_CPP_DEFAULTS).toEqual({
      temperature: 0.8,
      topK: 40,
      topP: 0.95,
      minP: 0.05,
      repeatPenalty: 1,
      repeatLastN: 64,
      presencePenalty: 0,
      frequencyPenalty: 0,
      seed: undefined,
    });
    expect(Object.isFrozen(LLAMA_CPP_DEFAULTS)).toBe(true);
    expect(validateSamplingParams(LLAMA_CPP_DEFAULTS)).toBeUndefined();
    expect(samplingParams({ topK: 5, seed: undefined })).toEqual({ ...LLAMA_CPP_DEFAULTS, topK: 5 });
  });

  it('validation returns a one-line error naming the bad parameter', () => {
    const bad: [Partial<SamplingParams>, RegExp][] = [
      [{ temperature: -0.1 }, /^temperature/],
      [{ temperature: Number.NaN }, /^temperature/],
      [{ temperature: Infinity }, /^temperature/],
      [{ topK: -1 }, /^top-k/],
      [{ topK: 2.5 }, /^top-k/],
      [{ topP: 0 }, /^top-p/],
      [{ topP: 1.01 }, /^top-p/],
      [{ topP: -0.5 }, /^top-p/],
      [{ minP: -0.01 }, /^min-p/],
      [{ minP: 1.5 }, /^min-p/],
      [{ repeatPenalty: 0 }, /^repeat-penalty/],
      [{ repeatPenalty: -1 }, /^repeat-penalty/],
      [{ repeatPenalty: 1e-320 }, /^repeat-penalty/],
      [{ repeatLastN: -1 }, /^repeat-last-n/],
      [{ repeatLastN: 3.5 }, /^repeat-last-n/],
      [{ presencePenalty: Infinity }, /^presence-penalty/],
      [{ frequencyPenalty: Number.NaN }, /^frequency-penalty/],
      [{ seed: 2 ** 32 }, /^seed/],
      [{ seed: -2 }, /^seed/],
      [{ seed: 1.5 }, /^seed/],
    ];
    for (const [override, re] of bad) {
      const msg = validateSamplingParams({ ...LLAMA_CPP_DEFAULTS, ...override });
      expect(msg, JSON.stringify(override)).toMatch(re);
      expect(msg).not.toContain('\n');
      expect(() => new Sampler({ ...LLAMA_CPP_DEFAULTS, ...override }, 10)).toThrow(RangeError);
    }
    const ok: Partial<SamplingParams>[] = [
      { temperature: 0 },
      { topK: 0 },
      { topP: 1 },
      { minP: 0 },
      { minP: 1 },
      { repeatLastN: 0 },
      { presencePenalty: -1 },
      { seed: 0 },
      { seed: 0xffffffff },
      { seed: -1 },
    ];
    for (const override of ok) expect(validateSamplingParams({ ...LLAMA_CPP_DEFAULTS, ...override })).toBeUndefined();
    expect(() => new Sampler(LLAMA_CPP_DEFAULTS, 0)).toThrow(/nVocab/);
  });
});

describe('chain description', () => {
  it('lists the active stages in llama.cpp order', () => {
    expect(new Sampler({ ...LLAMA_CPP_DEFAULTS, seed: 7 }, 100).describe()).toBe(
      'logits -> top-k(40) -> top-p(0.950) -> min-p(0.050) -> temp(0.800) -> dist(seed=7)',
    );
    expect(new Sampler({ ...LLAMA_CPP_DEFAULTS, repeatPenalty: 1.1, temperature: 0 }, 100).describe()).toBe(
      'logits -> penalties(last_n=64, repeat=1.100, freq=0.000, present=0.000) -> greedy',
    );
  });
});

describe('seeding', () => {
  const stream = (seed: number | undefined, n: number): { seed: number; tokens: number[] } => {
    const rng = new SeededRandom(99);
    const s = new Sampler({ ...LLAMA_CPP_DEFAULTS, seed }, 500);
    const tokens: number[] = [];
    for (let i = 0; i < n; i++) tokens.push(s.sample(randomLogits(rng, 500, 1), tokens));
    return { seed: s.seed, tokens };
  };

  it('the same seed gives the same tokens; a different seed different ones', () => {
    const a = stream(1234, 300);
    const b = stream(1234, 300);
    const c = stream(1235, 300);
    expect(a.seed).toBe(1234);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('the PRNG stream is fixed (same on every platform and run)', () => {
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([2837322924, 544945897, 479756282, 3500138142]);
    const f = new Rng(0);
    expect(f.nextFloat()).toBe(0.8868539502021594);
    let min = 1;
    let max = 0;
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const x = f.nextFloat();
      min = Math.min(min, x);
      max = Math.max(max, x);
      sum += x;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
  });

  it('no seed (undefined, -1 or LLAMA_DEFAULT_SEED) picks a random one and exposes it; reusing it replays', () => {
    const seeds = [undefined, -1, 0xffffffff, undefined].map((seed) => new Sampler({ ...LLAMA_CPP_DEFAULTS, seed }, 10).seed);
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(0xffffffff);
    }
    expect(new Set(seeds).size).toBeGreaterThan(1);
    const first = stream(undefined, 50);
    expect(stream(first.seed, 50).tokens).toEqual(first.tokens);
  });
});

describe('greedy', () => {
  it('temperature 0 picks the argmax, ties going to the lowest id', () => {
    const rng = new SeededRandom(5);
    for (let t = 0; t < 50; t++) {
      const l = randomLogits(rng, 1000);
      const s = new Sampler({ ...LLAMA_CPP_DEFAULTS, temperature: 0 }, 1000);
      let best = 0;
      for (let i = 1; i < l.length; i++) if (l[i]! > l[best]!) best = i;
      expect(s.sample(l, [])).toBe(best);
      expect(greedy(l)).toBe(best);
    }
    const tie = Float32Array.of(1, 3, 2, 3, 3);
    expect(greedy(tie)).toBe(1);
    expect(new Sampler({ ...PLAIN, temperature: 0 }, 5).sample(tie, [])).toBe(1);
    expect(greedy(Float32Array.of(-Infinity, -Infinity))).toBe(0);
  });

  it('top_k = 1 is greedy whatever the temperature', () => {
    const rng = new SeededRandom(6);
    const s = new Sampler({ ...PLAIN, topK: 1, temperature: 5 }, 300);
    for (let t = 0; t < 100; t++) {
      const l = randomLogits(rng, 300);
      expect(s.sample(l, [])).toBe(greedy(l));
    }
  });

  it('greedy still applies the penalties (as llama.cpp: penalties come before temperature)', () => {
    const l = Float32Array.of(5, 4.9, 0);
    const s = new Sampler({ ...PLAIN, temperature: 0, repeatPenalty: 1.1 }, 3);
    expect(s.sample(l, [])).toBe(0);
    expect(s.sample(l, [0])).toBe(1);
    expect(s.sample(l, Int32Array.of(2, 0))).toBe(1);
    expect(Array.from(l)).toEqual([5, Math.fround(4.9), 0]); // logits restored
  });
});

describe('truncation', () => {
  it('topKSelect returns the k largest in descending order, ties to the lower id', () => {
    const rng = new SeededRandom(11);
    for (const [n, k] of [
      [1000, 40],
      [1000, 1],
      [50, 50],
      [20, 100],
      [5000, 300],
    ] as const) {
      // Few distinct values: lots of ties.
      const l = Float32Array.from({ length: n }, () => Math.round(rng.normal() * 4) / 2);
      const out = new Int32Array(Math.min(n, k));
      const m = topKSelect(l, n, k, out);
      const ref = Array.from(l.keys())
        .sort((a, b) => l[b]! - l[a]! || a - b)
        .slice(0, k);
      expect(m).toBe(ref.length);
      expect(Array.from(out.subarray(0, m))).toEqual(ref);
    }
  });

  it('top-k keeps exactly the k most likely tokens, renormalized', () => {
    const probs = [0.05, 0.3, 0.02, 0.25, 0.2, 0.18];
    const s = new Sampler({ ...PLAIN, topK: 3 }, probs.length);
    const draws = 20000;
    expectDistribution(histogram(s, logitsOf(probs), draws), new Map([[1, 0.3], [3, 0.25], [4, 0.2]]), draws);
  });

  it('top-p keeps the shortest prefix reaching p (the crossing token included), with or without top-k', () => {
    // Sorted: 0.4 (id 2), 0.3 (id 0), 0.2 (id 4), 0.06 (id 1), 0.04 (id 3): cumulative 0.4, 0.7, 0.9 >= 0.8.
    const probs = [0.3, 0.06, 0.4, 0.04, 0.2];
    const expected = new Map([[2, 0.4], [0, 0.3], [4, 0.2]]);
    const draws = 20000;
    for (const topK of [0, 4, 40]) {
      const s = new Sampler({ ...PLAIN, topK, topP: 0.8 }, probs.length);
      expectDistribution(histogram(s, logitsOf(probs), draws), expected, draws);
    }
  });

  it('the O(n) whole-vocabulary top-p selects the same set as a full sort', () => {
    const rng = new SeededRandom(21);
    const n = 20000;
    const scratch = new FullVocabScratch(n);
    const out = new Int32Array(n);
    const cases: [Float32Array, number][] = [];
    for (const p of [0.1, 0.5, 0.9, 0.95, 0.999]) {
      cases.push([randomLogits(rng, n, 1), p]); // flat: the nucleus is thousands of tokens
      const peaked = randomLogits(rng, n, 2.5);
      for (let j = 0; j < 6; j++) peaked[Math.floor(rng.uniform() * n)] = 12 - j * 1.5;
      cases.push([peaked, p]);
      // Coarse values: many exact ties inside the crossing bucket.
      cases.push([Float32Array.from({ length: n }, () => Math.round(rng.normal() * 2)), p]);
    }
    cases.push([new Float32Array(n), 0.5]); // all equal: lowest ids first
    for (const [l, p] of cases) {
      let max = -Infinity;
      for (const v of l) max = Math.max(max, v);
      const m = scratch.topP(l, n, max, p, out);
      const got = Array.from(out.subarray(0, m)).sort((a, b) => a - b);
      const want = referenceTopP(l, p).sort((a, b) => a - b);
      expect(got).toEqual(want);
    }
    expect(scratch.topP(new Float32Array(n), n, 0, 0.5, out)).toBe(n / 2);
    expect(Array.from(out.subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it('min-p keeps tokens with p >= min_p * p_max', () => {
    // p_max = 0.4, min_p 0.25 → keep p >= 0.1.
    const probs = [0.1, 0.05, 0.4, 0.09, 0.2, 0.16];
    const expected = new Map([[0, 0.1], [2, 0.4], [4, 0.2], [5, 0.16]]);
    const draws = 20000;
    for (const topK of [0, 40]) {
      for (const topP of [1, 0.99]) {
        const s = new Sampler({ ...PLAIN, topK, topP, minP: 0.25 }, probs.length);
        expectDistribution(histogram(s, logitsOf(probs), draws), expected, draws);
      }
    }
    const l = logitsOf(probs);
    const out = new Int32Array(6);
    expect(Array.from(out.subarray(0, minPFull(l, 6, l[2]!, 0.25, out)))).toEqual([0, 2, 4, 5]);
  });

  it('top-p and min-p act on temperature-1 probabilities; temperature only reshapes the survivors', () => {
    // At T = 1: p = [0.6, 0.3, 0.1]; min_p 0.2 → threshold 0.12 drops id 2.
    // At T = 4 id 2 would pass (0.1^(1/4) vs 0.6^(1/4)), but temperature comes last.
    const probs = [0.6, 0.3, 0.1];
    const draws = 20000;
    const t = 4;
    const sMin = new Sampler({ ...PLAIN, minP: 0.2, temperature: t }, 3);
    const w = [0.6 ** (1 / t), 0.3 ** (1 / t)];
    expectDistribution(histogram(sMin, logitsOf(probs), draws), new Map([[0, w[0]!], [1, w[1]!]]), draws);
    // top_p 0.85: cumulative 0.6, 0.9 → ids 0, 1 (at T = 4 the flattened p would need all three).
    const sTopP = new Sampler({ ...PLAIN, topP: 0.85, temperature: t }, 3);
    expectDistribution(histogram(sTopP, logitsOf(probs), draws), new Map([[0, w[0]!], [1, w[1]!]]), draws);
  });
});

describe('temperature', () => {
  it('draws follow softmax(logits / T) and entropy grows with T', () => {
    const rng = new SeededRandom(31);
    const l = randomLogits(rng, 12, 1.5);
    const draws = 30000;
    const entropies: number[] = [];
    for (const temperature of [0.3, 0.7, 1, 2]) {
      for (const topK of [0, 40]) {
        const s = new Sampler({ ...PLAIN, temperature, topK }, l.length);
        const h = histogram(s, l, draws);
        expectDistribution(h, new Map(softmax(l, temperature).map((p, i) => [i, p] as [number, number])), draws);
        if (topK === 0) entropies.push(entropy(h, draws));
      }
    }
    for (let i = 1; i < entropies.length; i++) expect(entropies[i]!).toBeGreaterThan(entropies[i - 1]!);
  });

  it('defaults on a large vocabulary draw only from the top 40 that pass top-p and min-p', () => {
    const rng = new SeededRandom(41);
    const n = 151936;
    const l = randomLogits(rng, n, 2);
    for (let j = 0; j < 60; j++) l[Math.floor(rng.uniform() * n)] = 14 - j * 0.05;
    const allowed = new Set(referenceTopP(l, 1).slice(0, 40));
    const s = new Sampler({ ...LLAMA_CPP_DEFAULTS, seed: 3 }, n);
    const before = l.slice();
    for (let i = 0; i < 300; i++) expect(allowed.has(s.sample(l, []))).toBe(true);
    expect(l).toEqual(before);
  });
});

describe('penalties', () => {
  it("repeat penalty divides positive and multiplies non-positive logits of the last repeatLastN tokens only (llama.cpp's rule)", () => {
    const l = Float32Array.of(2, -2, 1, 0.5, 0, 3);
    const orig = l.slice();
    const p = new RepetitionPenalties(6, { lastN: 4, repeat: 2, frequency: 0, presence: 0 });
    // id 2 is older than the last 4 tokens; id 1 appears twice (the repeat penalty ignores counts).
    expect(p.apply(l, [2, 0, 1, 1, 4])).toBe(3);
    expect(Array.from(l)).toEqual([1, -4, 1, 0.5, 0, 3]);
    p.restore(l);
    expect(l).toEqual(orig);
  });

  it('frequency penalty scales with the count, presence penalty applies once', () => {
    const l = new Float32Array(6).fill(1);
    const p = new RepetitionPenalties(6, { lastN: 64, repeat: 1, frequency: 0.5, presence: 0.25 });
    p.apply(l, [3, 3, 3, 4, 5, 3]);
    expect(Array.from(l)).toEqual([1, 1, 1, 1 - 4 * 0.5 - 0.25, 1 - 0.5 - 0.25, 1 - 0.5 - 0.25]);
    p.restore(l);
    expect(Array.from(l)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('penalties change what the sampler draws, and leave the caller\'s logits as they were', () => {
    const probs = [0.5, 0.3, 0.2];
    const l = logitsOf(probs);
    const before = l.slice();
    const draws = 20000;
    // Presence penalty ln(5) on id 0 divides its weight by 5.
    const s = new Sampler({ ...PLAIN, presencePenalty: Math.log(5) }, 3);
    expectDistribution(histogram(s, l, draws, [0, 0, 0]), new Map([[0, 0.1], [1, 0.3], [2, 0.2]]), draws);
    expect(l).toEqual(before);
    // repeatLastN = 0 turns everything off.
    const off = new Sampler({ ...PLAIN, presencePenalty: 100, repeatPenalty: 3, repeatLastN: 0, temperature: 0 }, 3);
    expect(off.sample(l, [0])).toBe(0);
  });

  it('refuses token ids outside the vocabulary, leaving logits untouched', () => {
    const l = Float32Array.of(1, 2, 3);
    const s = new Sampler({ ...PLAIN, repeatPenalty: 2 }, 3);
    expect(() => s.sample(l, [1, 3])).toThrow(RangeError);
    expect(() => s.sample(l, [-1])).toThrow(RangeError);
    expect(Array.from(l)).toEqual([1, 2, 3]);
    expect(() => s.sample(Float32Array.of(1, 2), [])).toThrow(/expected 3 logits/);
    // The penalty state is clean after a refusal.
    expect(new Sampler({ ...PLAIN, repeatPenalty: 2, temperature: 0 }, 3).sample(Float32Array.of(1, 1.5, 1.2), [1])).toBe(2);
  });
});

describe('topLogprobs', () => {
  it('is the log-softmax of the raw logits, top n first, within 1e-5 of float64', () => {
    const rng = new SeededRandom(51);
    for (const n of [10, 1000, 151936]) {
      const l = randomLogits(rng, n, 4);
      let max = -Infinity;
      for (const v of l) max = Math.max(max, v);
      let z = 0;
      for (const v of l) z += Math.exp(v - max);
      const lse = max + Math.log(z);
      const top = topLogprobs(l, 5);
      expect(top).toHaveLength(Math.min(5, n));
      const ref = Array.from(l.keys())
        .sort((a, b) => l[b]! - l[a]! || a - b)
        .slice(0, 5);
      expect(top.map((t) => t.id)).toEqual(ref);
      let mass = 0;
      for (const t of top) {
        expect(t.logprob).toBeLessThanOrEqual(0);
        expect(Math.abs(t.logprob - (l[t.id]! - lse))).toBeLessThan(1e-5);
        mass += Math.exp(t.logprob);
      }
      expect(mass).toBeLessThanOrEqual(1);
    }
    expect(topLogprobs(Float32Array.of(1, 2), 0)).toEqual([]);
    const all = topLogprobs(Float32Array.of(0, 0), 5);
    expect(all.map((t) => t.id)).toEqual([0, 1]);
    expect(all[0]!.logprob).toBeCloseTo(Math.log(0.5), 12);
  });

  it('expNeg matches Math.exp to 1e-13 relative over the softmax range', () => {
    for (let x = 0; x > -87; x -= 0.0137) expect(Math.abs(expNeg(x) / Math.exp(x) - 1)).toBeLessThan(1e-13);
    expect(expNeg(0)).toBe(1);
    expect(expNeg(-Infinity)).toBe(0);
    expect(expNeg(-1000)).toBe(0);
  });
});
