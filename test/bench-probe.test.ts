import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cCompiler } from './helpers/cc.js';
import { REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

const cc = cCompiler();

interface ProbeResult {
  bytes: number;
  threads: number;
  passes: number;
  best_gbs: number;
  median_gbs: number;
  sustained_gbs: number;
}

/* scripts/bench-vs-llamacpp.mjs takes its decode bound from this probe's
 * JSON line; these are the fields and relations it relies on */
describe.skipIf(!cc)('memory bandwidth probe (scripts/bench/membw.c)', () => {
  const exe = join(tempDir('membw'), 'membw');

  function probe(args: string[]): ProbeResult {
    const r = spawnSync(exe, args, { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ProbeResult;
  }

  it('builds as the bench script builds it', () => {
    const c = spawnSync(cc!, ['-std=c11', '-O2', '-pthread', '-o', exe, join(REPO_ROOT, 'scripts/bench/membw.c')], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
  });

  it('runs the given passes, or more until SECONDS of reading, and no sustained rate above its best pass', () => {
    const fixed = probe(['8', '2', '5']);
    expect(fixed).toMatchObject({ bytes: 8 << 20, threads: 2, passes: 5 });
    const timed = probe(['8', '2', '3', '0.05']);
    expect(timed.passes).toBeGreaterThan(3);
    for (const r of [fixed, timed]) {
      expect(r.sustained_gbs).toBeGreaterThan(0);
      // all bytes over all time is a weighted mean of the passes' rates
      expect(r.sustained_gbs).toBeLessThanOrEqual(r.best_gbs + 0.001);
      expect(r.median_gbs).toBeLessThanOrEqual(r.best_gbs);
    }
  });

  it('refuses a negative duration', () => {
    const r = spawnSync(exe, ['8', '1', '3', '-1'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
  });
});
