import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { llamaCppAvailable, makeFixture } from './helpers/llamacpp.js';
import { REPO_ROOT } from './helpers/shared.js';

/**
 * Weights are mapped, never copied: after loading a 73 MB model and running
 * it, the process has grown by at most 1.1x the file plus the KV cache (its
 * touched pages count in RSS once, as file-backed memory).
 */
describe.skipIf(process.platform !== 'linux' || !llamaCppAvailable())('resident memory', () => {
  it('RSS growth <= 1.1 x (file + KV cache)', () => {
    const model = makeFixture(['--arch', 'llama', '--layers', '4', '--dim', '1024', '--ff', '2816', '--heads', '16', '--kv-heads', '4', '--type', 'Q4_K_M']);
    const r = spawnSync(process.execPath, [resolve(REPO_ROOT, 'scripts/measure-memory.mjs'), model, '--ctx', '512'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout.trim()) as { ratio_to_file_plus_kv: number; rss_growth: number; file_bytes: number };
    expect(m.file_bytes).toBeGreaterThan(50e6);
    expect(m.ratio_to_file_plus_kv).toBeLessThanOrEqual(1.1);
  });
});
