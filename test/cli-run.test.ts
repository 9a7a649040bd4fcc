import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType, kv, readGguf, writeGguf } from '../src/gguf/index.js';
import { ferrum } from './helpers/cli.js';
import { readGreedyRecords } from './helpers/greedy-records.js';
import { REPO_ROOT, sharedFile } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

interface RunJson {
  text: string;
  prompt_tokens: number[];
  tokens: number[];
  stop_reason: string;
  seed: number;
  backend: string;
  timings: Record<string, number>;
  logprobs?: Array<{ id: number; piece: string; logprob: number; top: Array<{ id: number; piece: string; logprob: number }> }>;
}
const json = (args: string[], env: NodeJS.ProcessEnv = {}): RunJson => {
  const r = ferrum(['run', ...args, '--json'], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunJson;
};

const dir = tempDir('run');
const records = readGreedyRecords();

describe('ferrum run', () => {
  it('with no model path runs the bundled tolstoy-tiny model and streams text', () => {
    const r = ferrum(['run', 'The old prince', '-n', '12', '--temp', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/^, who had/);
  });

  it.skipIf(records.length === 0)('--raw --temp 0 --json reproduces llama.cpp\'s prompt tokens and greedy tokens', () => {
    for (const rec of records) {
      const model = sharedFile(join('models', rec.model))!;
      const j = json([model, rec.prompt_text, '--raw', '-n', '48', '--temp', '0']);
      expect(j.prompt_tokens).toEqual(rec.prompt_tokens);
      expect(j.tokens.slice(0, rec.decisive_prefix)).toEqual(rec.greedy_tokens.slice(0, rec.decisive_prefix));
      expect(j.tokens).toHaveLength(48);
      expect(j.timings.prompt_n).toBe(rec.prompt_tokens.length);
      expect(j.timings.predicted_n).toBe(48);
      expect(j.timings.predicted_outside_share).toBeGreaterThan(0);
      expect(j.timings.predicted_outside_share).toBeLessThan(1);
    }
  });

  it('--tokens gives the prompt as ids; --logprobs N reports the top candidates', () => {
    const j = json(['--tokens', '1,366,268', '-n', '5', '--temp', '0', '--logprobs', '3']);
    expect(j.prompt_tokens).toEqual([1, 366, 268]);
    expect(j.logprobs).toHaveLength(5);
    j.logprobs!.forEach((lp, i) => {
      expect(lp.id).toBe(j.tokens[i]);
      expect(lp.top).toHaveLength(3);
      expect(lp.top[0]!.id).toBe(lp.id); // greedy: the chosen token is the most likely
      expect(lp.top[0]!.logprob).toBeLessThanOrEqual(0);
      expect(lp.top[0]!.logprob).toBeGreaterThanOrEqual(lp.top[1]!.logprob);
      expect(typeof lp.piece).toBe('string');
    });
  });

  it('the same seed gives the same output; another seed another', () => {
    const a = json(['Natasha', '-n', '24', '--seed', '42']);
    const b = json(['Natasha', '-n', '24', '--seed', '42']);
    const c = json(['Natasha', '-n', '24', '--seed', '43']);
    expect(a.seed).toBe(42);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('--stop strings end generation and are not printed', () => {
    const full = json(['The old prince', '-n', '40', '--temp', '0']).text;
    const word = full.trim().split(/\s+/)[3]!;
    const j = json(['The old prince', '-n', '40', '--temp', '0', '--stop', word]);
    expect(j.stop_reason).toBe('stop');
    expect(j.text).toBe(full.slice(0, full.indexOf(word)));
  });

  it('reads the prompt from piped stdin', () => {
    const a = ferrum(['run', '-n', '8', '--temp', '0'], { input: 'The old prince\n' });
    const b = ferrum(['run', 'The old prince', '-n', '8', '--temp', '0']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it('stops at the end of the context with a note', () => {
    const r = ferrum(['run', 'The old prince', '-c', '16', '-n', '100', '--temp', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/end of the 16-token context/);
  });

  it('warns, and still runs, when -c is longer than the trained context', () => {
    // the bundled model was trained on 1024 positions
    const r = ferrum(['run', 'The old prince', '-c', '2048', '-n', '4', '--temp', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: a 2048-token context is longer than the 1024 the model was trained on/);
    expect(r.stdout).toBe(ferrum(['run', 'The old prince', '-n', '4', '--temp', '0']).stdout);
    expect(ferrum(['run', 'The old prince', '-c', '1024', '-n', '4', '--temp', '0']).stderr).not.toMatch(/warning/);
  });

  it('--verbose prints load, prompt and generation speed', () => {
    const r = ferrum(['run', 'The old prince', '-n', '8', '--verbose']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/load\s+\d+ ms/);
    expect(r.stderr).toMatch(/prompt\s+7 tokens in [\d.]+ ms \([\d.]+ tok\/s\)/);
    expect(r.stderr).toMatch(/generation\s+8 tokens in/);
    // the time outside native calls per token, as a share of generation: a fraction, not a constant
    const m = /overhead\s+([\d.]+) ms\/token outside native calls \(([\d.]+)% of generation/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeLessThan(100);
    expect(r.stderr).not.toMatch(/per-op JS dispatch/);
  });
});

describe('ferrum run: errors users will hit, one line each', () => {
  const oneLine = (args: string[], want: RegExp, env: NodeJS.ProcessEnv = {}): void => {
    const r = ferrum(['run', ...args], { env });
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(want);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  it('a missing model file', () => oneLine([join(dir, 'nope.gguf'), 'hi'], /nope\.gguf: no such file/));
  it('a file that is not GGUF', () => {
    const p = join(dir, 'notgguf.gguf');
    writeFileSync(p, 'hello world, not a model');
    oneLine([p, 'hi'], /not a GGUF file/);
  });
  it('an unsupported architecture, naming the supported ones', () => {
    const p = join(dir, 'gpt2.gguf');
    writeGguf(p, { metadata: [['general.architecture', kv.str('gpt2')]], tensors: [] });
    oneLine([p, 'hi'], /architecture "gpt2" is not supported \(supported: llama, qwen2, qwen3, qwen3moe\)/);
  });
  it('an unsupported quant type, naming the tensor and type', () => {
    const src = resolve(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf');
    const f = readGguf(src);
    const p = join(dir, 'iq2.gguf');
    copyFileSync(src, p);
    // Retype blk.0.ffn_up.weight as IQ2_XXS in the header: a type ferrum names but cannot compute with.
    const t = f.tensors.find((x) => x.name === 'blk.0.ffn_up.weight')!;
    expect(t.type).toBe(GgmlType.Q8_0);
    const bytes = readFileSync(p);
    // Find the tensor info's type field: name bytes, n_dims, dims, then the u32 type.
    const nameAt = bytes.indexOf(Buffer.from(t.name));
    const typeAt = nameAt + t.name.length + 4 + 8 * t.dims.length;
    expect(bytes.readUInt32LE(typeAt)).toBe(t.type);
    bytes.writeUInt32LE(16, typeAt); // IQ2_XXS
    writeFileSync(p, bytes);
    const r = ferrum(['run', p, 'hi']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/blk\.0\.ffn_up\.weight.*IQ2_XXS/);
  });
  it('a prompt longer than the context', () => oneLine(['The old prince walked into the room and said', '-c', '16', '--raw'], /tokens, longer than the 16-token context/));
  // 16 tokens with BOS: the context would hold the prompt and nothing to generate
  it('a prompt as long as the context', () => oneLine(['The old prince walked in the room', '-c', '16', '--raw'], /16 tokens, as long as the 16-token context, with no room to generate/));
  it('the native library not built, with the command that builds it', () => oneLine(['hi'], /npm run build:native/, { FERRUM_CPU_LIB: join(dir, 'missing.so') }));
  it('bad sampling values', () => oneLine(['hi', '--top-p', '1.5'], /top-p must be in \(0, 1\]/));
  it('bad option values', () => oneLine(['hi', '-n', 'abc'], /option '-n, --max-tokens <n>' argument 'abc' is invalid/));
  it('too large a context for memory', () => oneLine(['hi', '-c', '2000000000'], /not enough memory for a 2000000000-token context/));
  // the KV cache is head-major: a q8_0 block may not straddle two heads (the bundled model's are 16 wide)
  it('a q8_0 KV cache on heads narrower than a block', () =>
    oneLine(['hi', '--kv-type', 'q8_0'], /--kv-type q8_0 needs a head size that is a multiple of 32 \(this model: 16\)/));
});

describe('Ctrl-C and profiling flags', () => {
  it('Ctrl-C stops generation cleanly, prints the summary, exits 130', async () => {
    const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/ferrum.js'), 'run', 'The old prince', '-n', '-1', '-c', '1024'], {
      env: { ...process.env, NO_COLOR: '1', FERRUM_DEBUG_SYNC: '1' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((done) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.length > 20 && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => done(c));
    });
    expect(code).toBe(130);
    expect(err).toMatch(/stopped\s+interrupted/);
    expect(err).toMatch(/generation\s+\d+ tokens/);
  });

  it('FERRUM_PROFILE=1 prints per-op times sorted by total', () => {
    const r = ferrum(['run', 'The old prince', '-n', '4'], { env: { FERRUM_PROFILE: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const head = lines.findIndex((l) => /^op\s+calls\s+total ms/.test(l));
    expect(head).toBeGreaterThanOrEqual(0);
    const rows = lines.slice(head + 1).filter((l) => /^\w+\s+\d+\s+[\d.]+/.test(l) && !l.startsWith('total'));
    // the tolstoy model's Q8_0 matrices, in the repacked layout by default (FERRUM_REPACK)
    expect(rows.map((l) => l.split(/\s+/)[0])).toContain('mul_mat_q8_0_r8');
    const totals = rows.map((l) => Number(l.split(/\s+/)[2]));
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
  });

  it('FERRUM_TRACE=file writes a Chrome trace of every op of every step', () => {
    const trace = join(dir, 'trace.json');
    const r = ferrum(['run', 'The old prince', '-n', '3'], { env: { FERRUM_TRACE: trace } });
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: Array<{ name: string; ph: string; dur: number; args: { step: number } }> };
    const steps = new Set(t.traceEvents.map((e) => e.args.step));
    expect(steps.size).toBe(3); // the prompt, then 2 decode steps (the 3rd token needs no step after it)
    expect(t.traceEvents.every((e) => e.ph === 'X' && e.dur >= 1)).toBe(true);
    const perStep = t.traceEvents.filter((e) => e.args.step === 0).length;
    expect(perStep).toBeGreaterThan(5 * 15); // 5 layers of ~17 ops
  });

  it('FERRUM_DEBUG_SYNC, FERRUM_BACKEND and FERRUM_THREADS', () => {
    const a = json(['The old prince', '-n', '6', '--temp', '0'], { FERRUM_DEBUG_SYNC: '1', FERRUM_BACKEND: 'cpu', FERRUM_THREADS: '1' });
    const b = json(['The old prince', '-n', '6', '--temp', '0']);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.backend).toMatch(/^cpu .*1 thread/);
    const bad = ferrum(['run', 'hi'], { env: { FERRUM_BACKEND: 'gpu' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/FERRUM_BACKEND must be cpu or metal/);
  });
});
