import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cCompiler } from './helpers/cc.js';
import { REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

const cc = cCompiler();

/* scripts/bench/r8-stream.c, the stand-alone stream-rate benchmark that
 * BENCHMARKS.md quotes: it builds with the command its header gives, runs
 * every layout it names on real kernels, and turns down what it cannot run */
describe.skipIf(!cc)('repacked-weight stream benchmark (scripts/bench/r8-stream.c)', () => {
  const exe = join(tempDir('r8-stream'), 'r8-stream');
  const run = (args: string[]) => spawnSync(exe, args, { encoding: 'utf8', timeout: 120_000 });

  it('builds as its header says', () => {
    const cpu = join(REPO_ROOT, 'native-shim/cpu');
    // the header's native-shim/cpu/quants/*.c
    const quants = readdirSync(join(cpu, 'quants')).filter((f) => f.endsWith('.c')).map((f) => join(cpu, 'quants', f));
    const c = spawnSync(cc!, ['-std=c11', '-O3', '-march=native', '-pthread', `-I${cpu}`, `-I${join(cpu, 'quants')}`,
      join(REPO_ROOT, 'scripts/bench/r8-stream.c'), ...quants, '-lm', '-o', exe], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
  }, 120_000);

  it('streams the plain and K-sliced layouts on two threads, one line each', () => {
    const r = run(['q4_0', '1', '2', '2048:rows', '2112:slices=2', '2112:slices=2/8', '2112:slices=2/h']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.replace(/ [\d.]+ GB\/s$/, ''))).toEqual(['q4_0 2048 rows 2', 'q4_0 2112 slices=2 2', 'q4_0 2112 slices=2/8 2', 'q4_0 2112 slices=2/h 2']);
    for (const l of lines) expect(Number(/ ([\d.]+) GB\/s$/.exec(l)![1])).toBeGreaterThan(0);
  }, 120_000);

  it('turns down an unknown type, a bad config and a bad thread count', () => {
    for (const args of [['q5_0', '1', '1', '2048:rows'], ['q4_K', '1', '1', '2000:rows'], ['q4_0', '1', '1', '2048:cols'], ['q4_0', '1', '0', '2048:rows']]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^(usage: r8-stream|r8-stream: bad config)/);
    }
  });
});
