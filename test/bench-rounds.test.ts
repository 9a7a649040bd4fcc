import { describe, expect, it } from 'vitest';
import { decodeRounds, pool, runDecode, type BenchRow } from '../scripts/bench/rounds.mjs';

/* scripts/bench-vs-llamacpp.mjs prints each run's decode beside the probe
 * taken right before it; rows are llama-bench's JSON rows (ferrum bench
 * prints the same) */
const pp = (ts: number[]): BenchRow => ({ n_prompt: 512, n_gen: 0, samples_ts: ts });
const tg = (ts: number[]): BenchRow => ({ n_prompt: 0, n_gen: 128, samples_ts: ts });

describe('decode run by run (scripts/bench/rounds.mjs)', () => {
  it('pools the pp and tg samples of every run, and no prompt+generation (pg) row', () => {
    const pg: BenchRow = { n_prompt: 512, n_gen: 128, samples_ts: [99] };
    expect(pool([[pp([200, 210]), tg([40]), pg], [pp([220]), tg([44, 42])]])).toEqual({ pp: [200, 210, 220], tg: [40, 44, 42] });
  });

  it("takes a run's decode from its tg row only", () => {
    expect(runDecode([pp([200, 210]), tg([40, 44, 42])])).toBeCloseTo(42, 12);
    expect(runDecode([pp([200])])).toBeNaN();
  });

  it('pairs each run with the probe made right before it, in the order the runs were made', () => {
    const runs = {
      llamacpp: [[pp([100]), tg([40])], [pp([100]), tg([30])]],
      ferrum: [[pp([200]), tg([50])], [pp([200]), tg([45])]],
    };
    // probes: before round 1 llama.cpp, round 1 ferrum, round 2 llama.cpp, round 2 ferrum
    const probes = [40e9, 50e9, 30e9, 60e9];
    const bytes = 0.6e9;
    const r = decodeRounds(runs, probes, bytes);
    expect(r.map((x) => x.round)).toEqual([1, 2]);
    expect(r[0]!.llamacpp).toEqual({ tg: 40, probe: 40e9, share: (40 * bytes) / 40e9 });
    expect(r[0]!.ferrum).toEqual({ tg: 50, probe: 50e9, share: (50 * bytes) / 50e9 });
    expect(r[1]!.llamacpp.share).toBeCloseTo(0.6, 12);
    expect(r[1]!.ferrum.share).toBeCloseTo(0.45, 12);
    expect(r[0]!.ratio).toBeCloseTo(1.25, 12);
    expect(r[1]!.ratio).toBeCloseTo(1.5, 12);
  });

  it('refuses runs and probes that do not pair up', () => {
    const run = [tg([40])];
    expect(() => decodeRounds({ llamacpp: [run], ferrum: [] }, [1, 1], 1)).toThrow(/1 llama.cpp runs, 0 ferrum runs/);
    expect(() => decodeRounds({ llamacpp: [run], ferrum: [run] }, [1], 1)).toThrow(/1 probes/);
  });
});
