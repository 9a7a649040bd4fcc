/**
 * The list of measurements one `ferrum bench` run makes, in llama-bench's
 * order: for each thread count, every prompt size (pp), then every
 * generation length (tg). A size of 0 is skipped, as llama-bench does.
 */
export interface BenchTest {
  /** Prompt tokens evaluated in one prefill step; 0 for a generation test. */
  readonly nPrompt: number;
  /** Tokens generated one at a time from an empty context; 0 for a prompt test. */
  readonly nGen: number;
  /** Worker threads asked for; 0 = one per core. */
  readonly threads: number;
}

export interface TestMatrix {
  readonly nPrompt: readonly number[];
  readonly nGen: readonly number[];
  readonly threads: readonly number[];
}

export function expandTests(m: TestMatrix): BenchTest[] {
  const out: BenchTest[] = [];
  for (const threads of m.threads) {
    for (const nPrompt of m.nPrompt) if (nPrompt > 0) out.push({ nPrompt, nGen: 0, threads });
    for (const nGen of m.nGen) if (nGen > 0) out.push({ nPrompt: 0, nGen, threads });
  }
  return out;
}

/** llama-bench's test name: pp512, tg128 (pp512+tg128 for a combined test). */
export function testName(t: Pick<BenchTest, 'nPrompt' | 'nGen'>): string {
  if (t.nPrompt > 0 && t.nGen === 0) return `pp${t.nPrompt}`;
  if (t.nGen > 0 && t.nPrompt === 0) return `tg${t.nGen}`;
  return `pp${t.nPrompt}+tg${t.nGen}`;
}
