/**
 * The list of measurements one `ferrum bench` run makes, in llama-bench's
 * order: for each thread count and each depth, every prompt size (pp), then
 * every generation length (tg), then every prompt-then-generation pair
 * (pp+tg). A size of 0 (a pair of 0 and 0) is skipped, as llama-bench does.
 */
export interface BenchTest {
  /** Prompt tokens evaluated in one prefill step; 0 for a generation test. */
  readonly nPrompt: number;
  /** Tokens generated one at a time after the prompt (if any); 0 for a prompt test. */
  readonly nGen: number;
  /**
   * Tokens already in the context when the timed part starts (llama-bench
   * -d): evaluated untimed, so the test measures prefill or decode with
   * attention over that many cached positions. 0 = an empty context.
   */
  readonly nDepth: number;
  /** Worker threads asked for; 0 = one per core. */
  readonly threads: number;
}

export interface TestMatrix {
  readonly nPrompt: readonly number[];
  readonly nGen: readonly number[];
  /** Depths; absent = [0]. */
  readonly nDepth?: readonly number[];
  /** [prompt, generated] pairs timed as one test (llama-bench -pg); absent = none. */
  readonly nPg?: readonly (readonly [number, number])[];
  readonly threads: readonly number[];
}

export function expandTests(m: TestMatrix): BenchTest[] {
  const out: BenchTest[] = [];
  for (const threads of m.threads) {
    for (const nDepth of m.nDepth ?? [0]) {
      for (const nPrompt of m.nPrompt) if (nPrompt > 0) out.push({ nPrompt, nGen: 0, nDepth, threads });
      for (const nGen of m.nGen) if (nGen > 0) out.push({ nPrompt: 0, nGen, nDepth, threads });
      for (const [nPrompt, nGen] of m.nPg ?? []) if (nPrompt > 0 || nGen > 0) out.push({ nPrompt, nGen, nDepth, threads });
    }
  }
  return out;
}

/** What one measurement runs, whatever the threads: depth absent = 0. */
export type TestShape = Pick<BenchTest, 'nPrompt' | 'nGen'> & { readonly nDepth?: number };

/** llama-bench's test name: pp512, tg128 (pp512+tg128 for a combined test), then " @ d1024" at a depth. */
export function testName(t: TestShape): string {
  const depth = t.nDepth ? ` @ d${t.nDepth}` : '';
  if (t.nPrompt > 0 && t.nGen === 0) return `pp${t.nPrompt}${depth}`;
  if (t.nGen > 0 && t.nPrompt === 0) return `tg${t.nGen}${depth}`;
  return `pp${t.nPrompt}+tg${t.nGen}${depth}`;
}
