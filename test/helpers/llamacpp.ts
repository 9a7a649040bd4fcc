import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { IS_CI, REPO_ROOT } from './shared.js';
import { tempDir } from './tmp.js';

/**
 * llama.cpp (node-llama-cpp's CPU prebuilt) and make-fixture, each run as a
 * child script: node-llama-cpp cannot start inside a vitest worker.
 */
const LOGITS_SCRIPT = resolve(REPO_ROOT, 'scripts/fixture/llamacpp-logits.mjs');
const MAKE_FIXTURE = resolve(REPO_ROOT, 'scripts/make-fixture.mjs');
const NODE_LLAMA_CPP = resolve(REPO_ROOT, 'node_modules/node-llama-cpp/package.json');

/** Whether node-llama-cpp is installed; under CI=true its absence is a failure, else a skip with a message. */
export function llamaCppAvailable(): boolean {
  if (existsSync(NODE_LLAMA_CPP)) return true;
  if (IS_CI) throw new Error('CI=true but node-llama-cpp is not installed: install devDependencies');
  console.warn('skipping: node-llama-cpp is not installed (the llama.cpp peer is needed)');
  return false;
}

export interface LlamaCppLogitsOptions {
  /** Logits after every token, or only after the last. */
  readonly positions?: 'all' | 'last';
  /** KV cache type; F32 with flash attention off makes llama.cpp's attention float32 throughout. */
  readonly kvType?: 'F16' | 'F32';
  readonly flashAttention?: boolean;
}

export interface LlamaCppLogits {
  readonly architecture: string;
  readonly nVocab: number;
  readonly logits: Float32Array[];
}

export function llamaCppLogits(model: string, tokens: readonly number[], opts: LlamaCppLogitsOptions = {}): LlamaCppLogits {
  const out = join(tempDir('logits'), 'logits.f32');
  const request = { model, tokens, positions: opts.positions ?? 'last', kvType: opts.kvType ?? 'F16', flashAttention: opts.flashAttention, out };
  const r = spawnSync(process.execPath, [LOGITS_SCRIPT, JSON.stringify(request)], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: 120_000,
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  let reply: { ok: boolean; error?: string; rows?: number; nVocab?: number; architecture?: string };
  try {
    reply = JSON.parse(line) as typeof reply;
  } catch {
    throw new Error(`llamacpp-logits gave no reply (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  }
  if (!reply.ok || !reply.rows || !reply.nVocab) throw new Error(`llamacpp-logits: ${reply.error ?? 'no logits'}`);
  const bytes = readFileSync(out);
  rmSync(dirname(out), { recursive: true, force: true });
  const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const nVocab = reply.nVocab;
  const logits = Array.from({ length: reply.rows }, (_, i) => flat.slice(i * nVocab, (i + 1) * nVocab));
  return { architecture: reply.architecture ?? '', nVocab, logits };
}

export interface MakeFixtureResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runMakeFixture(args: readonly string[], env: NodeJS.ProcessEnv = {}): MakeFixtureResult {
  const r = spawnSync(process.execPath, [MAKE_FIXTURE, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Make a fixture, failing with make-fixture's own message; returns its path. */
export function makeFixture(args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  const r = runMakeFixture(args, env);
  if (r.code !== 0) throw new Error(`make-fixture ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Largest |a - b| over two logit rows. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`logit rows differ in length: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
