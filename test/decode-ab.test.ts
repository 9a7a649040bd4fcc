import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.js';

const script = join(REPO_ROOT, 'scripts/decode-ab.mjs');
const model = join(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf');
const run = (args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 120_000 });

/* scripts/decode-ab.mjs: two builds taking turns; here the repo against itself */
describe('decode A/B harness (scripts/decode-ab.mjs)', () => {
  it('runs both sides the same number of steps and prints their medians and ratio', () => {
    const r = run([model, '40', '3', REPO_ROOT, REPO_ROOT]);
    expect(r.status, r.stderr).toBe(0);
    const sides = [...r.stdout.matchAll(/^(.+): median ([\d.]+) ms, mean ([\d.]+) ms a step over (\d+) steps$/gm)];
    expect(sides.map((m) => [m[1], Number(m[4])])).toEqual([[REPO_ROOT, 24], [REPO_ROOT, 24]]);
    for (const m of sides) expect(Number(m[2])).toBeGreaterThan(0);
    const ratio = /^new \/ old, medians: ([\d.]+)$/m.exec(r.stdout);
    expect(ratio, r.stdout).not.toBeNull();
    expect(Number(ratio![1])).toBeGreaterThan(0);
  });

  it('says which side is not built, in one line', () => {
    const r = run([model, '40', '3', REPO_ROOT, join(REPO_ROOT, 'no-such-tree')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^decode-ab: .*no-such-tree: no dist\/model\/engine\.js \(build that tree first\)$/);
  });
});
