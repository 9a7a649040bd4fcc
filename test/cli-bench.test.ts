import { copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measure, type Evaluator } from '../src/bench/measure.js';
import { FIELDS } from '../src/bench/record.js';
import { mean, stddev } from '../src/bench/stats.js';
import { expandTests, testName } from '../src/bench/tests.js';
import { TokenSource } from '../src/bench/token-source.js';
import { setPriority } from '../src/bench/priority.js';
import { MAX_RANGE_VALUES, parseIntRanges } from '../src/cli/int-ranges.js';
import { translateLlamaBenchFlags } from '../src/cli/llama-bench-flags.js';
import { ferrum } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

const MODEL = resolve(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf');
const SMALL = ['-p', '16', '-n', '8', '-r', '2'];

/** llama-bench's field names (test::get_fields) and the two sample arrays its JSON adds. */
const LLAMA_BENCH_FIELDS = [
  'build_commit', 'build_number', 'cpu_info', 'gpu_info', 'backends', 'model_filename', 'model_type', 'model_size',
  'model_n_params', 'n_batch', 'n_ubatch', 'n_threads', 'cpu_mask', 'cpu_strict', 'poll', 'type_k', 'type_v',
  'n_gpu_layers', 'n_cpu_moe', 'split_mode', 'main_gpu', 'no_kv_offload', 'flash_attn', 'devices', 'tensor_split',
  'tensor_buft_overrides', 'load_mode', 'lazy_mode', 'embeddings', 'no_op_offload', 'no_host', 'fit_target',
  'fit_min_ctx', 'n_prompt', 'n_gen', 'n_depth', 'test_time', 'avg_ns', 'stddev_ns', 'avg_ts', 'stddev_ts',
];

interface Row {
  [k: string]: unknown;
  model_filename: string;
  model_type: string;
  model_size: number;
  model_n_params: number;
  backends: string;
  n_threads: number;
  n_prompt: number;
  n_gen: number;
  n_depth: number;
  avg_ns: number;
  stddev_ns: number;
  avg_ts: number;
  stddev_ts: number;
  samples_ns: number[];
  samples_ts: number[];
}

function bench(args: string[]): { stdout: string; stderr: string } {
  const r = ferrum(['bench', MODEL, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const near = (a: number, b: number, rel = 1e-4): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

/** What every row must satisfy, whatever the timing. */
function checkRow(r: Row, reps: number, combined = false): void {
  expect(Object.keys(r)).toEqual([...LLAMA_BENCH_FIELDS, 'samples_ns', 'samples_ts']);
  expect(r.model_filename).toBe(MODEL);
  expect(r.model_type).toBe('llama ?B Q8_0');
  expect(r.model_n_params).toBe(1_049_984);
  expect(r.model_size).toBeGreaterThan(1_000_000);
  expect(r.backends).toBe('CPU');
  expect(Number.isInteger(r.n_threads) && r.n_threads >= 1).toBe(true);
  // llama-bench's rows: a pp test has n_gen 0, a tg test n_prompt 0; a -pg test has both
  if (combined) expect(r.n_prompt > 0 && r.n_gen > 0).toBe(true);
  else expect(r.n_prompt === 0 || r.n_gen === 0).toBe(true);
  expect(r.n_prompt + r.n_gen).toBeGreaterThan(0);
  expect(r.samples_ns).toHaveLength(reps);
  expect(r.samples_ts).toHaveLength(reps);
  for (const ns of r.samples_ns) expect(Number.isInteger(ns) && ns > 0).toBe(true);
  r.samples_ts.forEach((ts, i) => expect(near(ts, (1e9 * (r.n_prompt + r.n_gen)) / r.samples_ns[i]!)).toBe(true));
  expect(near(r.avg_ts, mean(r.samples_ts))).toBe(true);
  expect(Math.abs(r.avg_ns - mean(r.samples_ns))).toBeLessThanOrEqual(1);
  expect(Math.abs(r.stddev_ns - stddev(r.samples_ns))).toBeLessThanOrEqual(1);
  expect(Math.abs(r.stddev_ts - stddev(r.samples_ts))).toBeLessThanOrEqual(1e-3 * r.avg_ts + 1e-6);
}

/** One CSV line of llama-bench's (every value double-quoted, quotes doubled). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"]|"")*)"(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1]!.replace(/""/g, '"'));
  return out;
}

describe('ferrum bench', () => {
  it('prints llama-bench\'s markdown table: one row per test, mean ± stddev t/s', () => {
    const { stdout } = bench(SMALL);
    const lines = stdout.trimEnd().split('\n');
    const cells = (l: string): string[] => l.split('|').slice(1, -1).map((c) => c.trim());
    expect(cells(lines[0]!)).toEqual(['model', 'size', 'params', 'backend', 'threads', 'test', 't/s']);
    expect(lines[1]).toMatch(/^\|( -+[-:] \|)+$/);
    expect(lines[1]).toBe('| ------------------------------ | ---------: | ---------: | ---------- | ------: | --------------: | -------------------: |');
    const rows = lines.slice(2, 4).map(cells);
    expect(rows.map((r) => r[5])).toEqual(['pp16', 'tg8']);
    for (const r of rows) {
      expect(r.slice(0, 4)).toEqual(['llama ?B Q8_0', '1.07 MiB', '1.05 M', 'CPU']);
      expect(r[4]).toMatch(/^\d+$/);
      expect(r[6]).toMatch(/^\d+\.\d\d ± \d+\.\d\d$/);
    }
    // Every row is as wide as the header.
    expect(new Set(lines.slice(0, 4).map((l) => l.length)).size).toBe(1);
    expect(lines[4]).toBe('');
    expect(lines[5]).toMatch(/^build: ferrum \d+\.\d+\.\d+ \(cpu .*\)$/);
  });

  it('-o json is an array of objects with llama-bench\'s field names and consistent values', () => {
    const { stdout, stderr } = bench([...SMALL, '-o', 'json']);
    const rows = JSON.parse(stdout) as Row[];
    expect(rows).toHaveLength(2);
    for (const r of rows) checkRow(r, 2);
    expect(rows.map((r) => [r.n_prompt, r.n_gen])).toEqual([[16, 0], [0, 8]]);
    // Progress went to stderr as plain lines (not a terminal), never into the JSON.
    expect(stderr).toMatch(/^ferrum bench: .*warm-up$/m);
    // --json is the same format.
    const alias = JSON.parse(bench([...SMALL, '--json']).stdout) as Row[];
    expect(alias.map((r) => Object.keys(r))).toEqual(rows.map((r) => Object.keys(r)));
  });

  it('-o jsonl is one object per line; comma lists and repeated flags make one row per value', () => {
    const { stdout } = bench(['-p', '8,16', '-p', '4', '-n', '4,2', '-r', '1', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => [r.n_prompt, r.n_gen])).toEqual([[8, 0], [16, 0], [4, 0], [0, 4], [0, 2]]);
    for (const r of rows) checkRow(r, 1);
  });

  it('-t takes a list: a row set per thread count', () => {
    const { stdout } = bench(['-p', '8', '-n', '0', '-t', '1,2', '-r', '1', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => [r.n_threads, r.n_prompt, r.n_gen])).toEqual([[1, 8, 0], [2, 8, 0]]);
  });

  it('-d takes a list of depths: a row set per depth, named as llama-bench names them', () => {
    const { stdout } = bench(['-p', '16', '-n', '8', '-d', '0,24', '-r', '1', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => [r.n_prompt, r.n_gen, r.n_depth])).toEqual([[16, 0, 0], [0, 8, 0], [16, 0, 24], [0, 8, 24]]);
    for (const r of rows) checkRow(r, 1);
    const md = bench(['-p', '0', '-n', '4', '-d', '24', '-r', '1']).stdout.split('\n');
    expect(md[2]!.split('|').map((c) => c.trim())[6]).toBe('tg4 @ d24');
  });

  it('-m may repeat, as llama-bench\'s: a row set per model in one table, each model once', () => {
    // the same file under another path: a second model as far as -m goes
    const other = join(tempDir('bench-models'), 'other.gguf');
    copyFileSync(MODEL, other);
    const rows = JSON.parse(bench(['-m', other, '-m', MODEL, '-p', '8', '-n', '0', '-r', '1', '-o', 'json']).stdout) as Row[];
    // the argument and -m of the same file count once
    expect(rows.map((r) => r.model_filename)).toEqual([MODEL, other]);
    const md = bench(['-m', other, '-p', '8', '-n', '0', '-r', '1']).stdout.trimEnd().split('\n');
    expect(md.filter((l) => l.startsWith('| model'))).toHaveLength(1);
    expect(md.filter((l) => l.includes(' pp8 '))).toHaveLength(2);
    // a bad path among them fails before any test runs
    const bad = ferrum(['bench', MODEL, '-m', '/no/such/model.gguf', '-p', '8', '-r', '1']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n')).toEqual(['ferrum: /no/such/model.gguf: no such file']);
  });

  it('-fa on (llama-bench\'s flash attention) is accepted: ferrum\'s attention is always fused', () => {
    const rows = JSON.parse(bench(['-p', '8', '-n', '0', '-r', '1', '-fa', '1', '-o', 'json']).stdout) as Row[];
    expect(rows.map((r) => [r.n_prompt, r.flash_attn])).toEqual([[8, 1]]);
  });

  it('KV cache types take lists (--kv-type, or llama-bench\'s -ctk/-ctv): a row set per type, before threads', () => {
    const { stdout } = bench(['-p', '8', '-n', '0', '-r', '1', '-t', '1,2', '--kv-type', 'f16,f32', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => `${String(r.type_k)}/${String(r.type_v)}@${r.n_threads}`)).toEqual(['f16/f16@1', 'f16/f16@2', 'f32/f32@1', 'f32/f32@2']);
    for (const r of rows) checkRow(r, 1);
    // as llama-bench: type_k and type_v columns only where the types differ from the default f16
    const header = (args: string[]): string[] => bench(['-p', '8', '-n', '0', '-r', '1', ...args]).stdout.split('\n')[0]!.split('|').map((c) => c.trim());
    expect(header(['-ctk', 'f32', '-ctv', 'f32'])).toEqual(['', 'model', 'size', 'params', 'backend', 'threads', 'type_k', 'type_v', 'test', 't/s', '']);
    expect(header(['-ctk', 'f16', '-ctv', 'f16'])).not.toContain('type_k');
  });

  it('-pg times a prompt then generation as one test, after the pp and tg tests, as llama-bench does', () => {
    const { stdout } = bench(['-p', '16', '-n', '0', '-pg', '8,4', '--n-pg', '0,0', '-pg', '0,3', '-r', '2', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    // a pair of zeros is skipped; 0,3 is a tg test by another name
    expect(rows.map((r) => [r.n_prompt, r.n_gen])).toEqual([[16, 0], [8, 4], [0, 3]]);
    checkRow(rows[0]!, 2);
    checkRow(rows[1]!, 2, true);
    checkRow(rows[2]!, 2);
    const md = bench(['-p', '0', '-n', '0', '-pg', '8,4', '-d', '16', '-r', '1']).stdout.split('\n');
    expect(md[2]!.split('|').map((c) => c.trim())[6]).toBe('pp8+tg4 @ d16');
  });

  it('-o csv has llama-bench\'s header and quoted values', () => {
    const { stdout } = bench([...SMALL, '-o', 'csv']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]!.split(',')).toEqual(LLAMA_BENCH_FIELDS);
    expect(lines).toHaveLength(3);
    const rows = lines.slice(1).map((l) => {
      const v = parseCsvLine(l);
      expect(v).toHaveLength(LLAMA_BENCH_FIELDS.length);
      return Object.fromEntries(LLAMA_BENCH_FIELDS.map((f, i) => [f, v[i]!]));
    });
    expect(rows.map((r) => [r.n_prompt, r.n_gen])).toEqual([['16', '0'], ['0', '8']]);
    for (const r of rows) {
      expect(r.model_type).toBe('llama ?B Q8_0');
      expect(r.cpu_strict).toBe('0');
      expect(r.avg_ts).toMatch(/^\d+\.\d{6}$/);
      expect(r.avg_ns).toMatch(/^\d+$/);
    }
  });

  it('-o sql is llama-bench\'s: a CREATE TABLE llama_bench with its column types, then an INSERT per test', () => {
    // a quote in the path must not break the statement
    const quoted = join(tempDir('bench-sql'), "it's.gguf");
    copyFileSync(MODEL, quoted);
    const r = ferrum(['bench', quoted, ...SMALL, '-o', 'sql']);
    expect(r.code, r.stderr).toBe(0);
    const [create, inserts] = r.stdout.split('\n\n');
    const lines = create!.split('\n');
    expect(lines[0]).toBe('CREATE TABLE IF NOT EXISTS llama_bench (');
    expect(lines.at(-1)).toBe(');');
    const columns = lines.slice(1, -1).map((l) => l.replace(/,$/, '').trim().split(' '));
    expect(columns.map((c) => c[0])).toEqual(LLAMA_BENCH_FIELDS);
    const type = Object.fromEntries(columns.map(([f, t]) => [f, t]));
    expect([type.model_type, type.n_prompt, type.cpu_strict, type.flash_attn, type.avg_ts, type.test_time]).toEqual(['TEXT', 'INTEGER', 'INTEGER', 'INTEGER', 'REAL', 'TEXT']);
    const rows = inserts!.trimEnd().split('\n');
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const m = /^INSERT INTO llama_bench \(([^)]*)\) VALUES \((.*)\);$/.exec(row);
      expect(m, row).not.toBeNull();
      expect(m![1]!.split(', ')).toEqual(LLAMA_BENCH_FIELDS);
      const values = [...m![2]!.matchAll(/'((?:[^']|'')*)'(?:, |$)/g)].map((v) => v[1]!.replace(/''/g, "'"));
      expect(values).toHaveLength(LLAMA_BENCH_FIELDS.length);
      const v = Object.fromEntries(LLAMA_BENCH_FIELDS.map((f, i) => [f, values[i]!]));
      expect(v.model_filename).toBe(quoted);
      expect(v.avg_ts).toMatch(/^\d+\.\d{6}$/);
      expect(v.cpu_strict).toBe('0');
    }
  });

  it('-oe (llama-bench\'s --output-err) writes the results to stderr too, in its own format', () => {
    const { stdout, stderr } = bench(['-p', '8', '-n', '0', '-r', '1', '-o', 'jsonl', '-oe', 'csv']);
    expect(stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as Row).n_prompt)).toEqual([8]);
    const csv = stderr.split('\n').filter((l) => l.startsWith('"') || l.startsWith('build_commit,'));
    expect(csv[0]!.split(',')).toEqual(LLAMA_BENCH_FIELDS);
    expect(csv).toHaveLength(2);
    expect(bench(['-p', '8', '-n', '0', '-r', '1', '--output-err', 'none']).stderr).not.toMatch(/build_commit|\| model/);
  });

  it('-b takes a list, as llama-bench\'s: a row set per batch size, before KV types and threads, in an n_batch column', () => {
    const { stdout } = bench(['-p', '8', '-n', '0', '-r', '1', '-b', '4,8', '-t', '1,2', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => `b${String(r.n_batch)}@${r.n_threads}`)).toEqual(['b4@1', 'b4@2', 'b8@1', 'b8@2']);
    for (const r of rows) checkRow(r, 1);
    // the size asked for is the one reported, as llama-bench reports its -b
    const big = JSON.parse(bench(['-p', '8', '-n', '0', '-r', '1', '--batch-size', '2048', '-o', 'json']).stdout) as Row[];
    expect(big.map((r) => r.n_batch)).toEqual([2048]);
    const md = bench(['-p', '8', '-n', '0', '-r', '1', '-b', '4']).stdout.split('\n');
    expect(md[0]!.split('|').map((c) => c.trim())).toContain('n_batch');
    expect(md[2]!.split('|').map((c) => c.trim())).toContain('4');
  });

  it('number lists take llama-bench\'s ranges: first-last, first-last+step, first-last*mult', () => {
    const { stdout } = bench(['-p', '4-16*2', '-n', '2-6+2,1', '-r', '1', '-o', 'jsonl']);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
    expect(rows.map((r) => [r.n_prompt, r.n_gen])).toEqual([[4, 0], [8, 0], [16, 0], [0, 2], [0, 4], [0, 6], [0, 1]]);
  });

  it('--delay waits before each test; --prio, --progress and --offline are taken', () => {
    const { stderr } = bench(['-p', '8', '-n', '0', '-r', '1', '--delay', '1', '--prio', '-1', '--progress', '--offline']);
    expect(stderr).toMatch(/^ferrum bench: 1\/1 pp8, \d+ threads: waiting 1 s \(--delay\)$/m);
  });

  it('-m splits at commas, as llama-bench\'s, unless the whole value is a file', () => {
    const dir = tempDir('bench-model-list');
    const a = join(dir, 'a.gguf');
    const comma = join(dir, 'b,c.gguf');
    copyFileSync(MODEL, a);
    copyFileSync(MODEL, comma);
    const rows = JSON.parse(ferrum(['bench', '-m', `${a},${MODEL}`, '-m', comma, '-p', '8', '-n', '0', '-r', '1', '-o', 'json']).stdout) as Row[];
    expect(rows.map((r) => r.model_filename)).toEqual([a, MODEL, comma]);
  });

  it('bad flags are one-line errors with a non-zero exit', () => {
    const cases: Array<[string[], RegExp]> = [
      [['-p', 'abc'], /-p, --n-prompt .* 'abc' is invalid/],
      [['-p', '16,,32'], /is invalid/],
      [['-n', '-1'], /is invalid/],
      [['-r', '0'], /-r, --repetitions .* '0' is invalid/],
      [['-t', '0'], /-t, --threads .* '0' is invalid/],
      [['-d', '-8'], /-d, --n-depth .* '-8' is invalid/],
      [['-o', 'xml'], /expected one of md, csv, json, jsonl, sql/],
      [['-oe', 'xml'], /--output-err .* 'xml' is invalid. expected one of md, csv, json, jsonl, sql, none/],
      [['-p', '8-4'], /'8-4' is invalid. 8-4: a range runs from the smaller number to the larger/],
      [['-p', '0-8*2'], /0-8\*2: the step must make each number larger/],
      [['-p', '1-9+0'], /the step must make each number larger/],
      [['-p', '1-100000'], /more than 4096 values/],
      [['-p', '8-'], /expected whole numbers >= 0 or ranges/],
      [['-t', '0-2'], /-t, --threads .* expected whole numbers >= 1; 0-2 starts at 0/],
      [['--prio', '4'], /--prio .* '4' is invalid. expected one of -1, 0, 1, 2, 3/],
      [['--delay', '-1'], /--delay .* '-1' is invalid/],
      [['-C', '0x3'], /-C \(llama-bench's\) has no ferrum counterpart: .* start it under taskset/],
      [['--poll', '0'], /--poll \(llama-bench's\) has no ferrum counterpart/],
      [['-hf', 'org/model'], /-hf \(llama-bench's\) has no ferrum counterpart: ferrum reads local .gguf files and never downloads/],
      [['-ncmoe', '4'], /-ncmoe \(llama-bench's\) has no ferrum counterpart/],
      [['-dev', 'none'], /-dev \(llama-bench's\) has no ferrum counterpart: ferrum runs on one device, the one --backend names/],
      [['--json', '-o', 'csv'], /--json and -o csv/],
      [['-p', '0', '-n', '0'], /nothing to measure/],
      [['-p', '0', '-n', '0', '-pg', '0,0'], /nothing to measure: every -p, -n and -pg value is 0/],
      [['-pg', '8'], /--n-pg .* '8' is invalid. expected two whole numbers/],
      [['-pg', '8,4,2'], /'8,4,2' is invalid/],
      [['-pg', 'a,4'], /'a,4' is invalid/],
      [['-ctk', 'f16,f32', '-ctv', 'f16,f32'], /-ctk f16 with -ctv f32: ferrum's KV cache keeps K and V in one type/],
      [['-ctk', 'q8_0'], /-ctk q8_0 with -ctv f16/],
      [['--kv-type', 'f32', '-ctv', 'f32'], /give --kv-type or -ctk\/-ctv, not both/],
      [['-ctk', 'q4_0'], /--cache-type-k .* 'q4_0' is invalid. expected f16, f32 or q8_0/],
      [['-ngl', '99'], /^ferrum: -ngl \(llama-bench's\) has no ferrum counterpart: ferrum runs every layer on the backend --backend names/],
      [['-ub', '256'], /-ub \(llama-bench's\) has no ferrum counterpart: ferrum has one batch size, -b/],
      [['-nkvo', '1'], /-nkvo \(llama-bench's\) has no ferrum counterpart: the KV cache lives where the layers run/],
      [['-mmp', '0'], /-mmp \(llama-bench's\) has no ferrum counterpart: ferrum always maps the file/],
      [['-fa', '0'], /^ferrum: -fa: ferrum's attention is always fused \(llama.cpp's flash attention\), so only on, 1 or auto/],
      [['-fa', '1,0'], /so only on, 1 or auto/],
      [['-fa'], /so only on, 1 or auto/],
      [['--frobnicate'], /unknown option/],
    ];
    for (const [args, want] of cases) {
      const r = ferrum(['bench', MODEL, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(r.stdout).toBe('');
    }
    const none = ferrum(['bench']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no model given/);
    const missing = ferrum(['bench', '/no/such/model.gguf', '-r', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a depth whose KV cache cannot fit in memory is an error line, not a crash', () => {
    const r = ferrum(['bench', MODEL, '-d', '2000000000', '-p', '0', '-n', '1', '-r', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/^ferrum: not enough memory: .* a 2000000001-token KV cache .* use a smaller context$/);
  });
});

describe('bench internals', () => {
  it('orders tests as llama-bench does and names them pp/tg', () => {
    const tests = expandTests({ nPrompt: [512, 0, 128], nGen: [128], threads: [1, 2] });
    expect(tests.map((t) => `${testName(t)}@${t.threads}`)).toEqual(['pp512@1', 'pp128@1', 'tg128@1', 'pp512@2', 'pp128@2', 'tg128@2']);
    expect(testName({ nPrompt: 4, nGen: 2 })).toBe('pp4+tg2');
    const deep = expandTests({ nPrompt: [512], nGen: [128], nDepth: [0, 1024], threads: [2] });
    expect(deep.map((t) => testName(t))).toEqual(['pp512', 'tg128', 'pp512 @ d1024', 'tg128 @ d1024']);
    const pg = expandTests({ nPrompt: [512], nGen: [128], nPg: [[512, 128], [0, 0]], nDepth: [0, 64], threads: [2] });
    expect(pg.map((t) => testName(t))).toEqual(['pp512', 'tg128', 'pp512+tg128', 'pp512 @ d64', 'tg128 @ d64', 'pp512+tg128 @ d64']);
  });

  it('a -pg test warms up as llama-bench does (the prompt, one token) and times the prompt then the tokens after it', () => {
    const calls: string[] = [];
    const engine: Evaluator = {
      eval: (tokens, pos0) => calls.push(`eval ${tokens.length}@${pos0}`),
      evalNext: (_token, pos) => calls.push(`next @${pos}`),
    };
    measure(engine, { nPrompt: 3, nGen: 2 }, { reps: 1, warmup: true, tokens: new TokenSource(1000, 1, 7) });
    expect(calls).toEqual(['eval 3@0', 'next @0', 'eval 3@0', 'next @3', 'next @4']);
  });

  it('renames llama-bench\'s -pg, -ctk and -ctv for commander, only after the bench command and before --', () => {
    expect(translateLlamaBenchFlags(['node', 'ferrum', 'bench', 'm.gguf', '-pg', '8,4'])).toEqual(['node', 'ferrum', 'bench', 'm.gguf', '--n-pg', '8,4']);
    expect(translateLlamaBenchFlags(['node', 'ferrum', 'run', 'm.gguf', '-pg'])).toEqual(['node', 'ferrum', 'run', 'm.gguf', '-pg']);
    expect(translateLlamaBenchFlags(['node', 'ferrum', 'bench', '--', '-pg'])).toEqual(['node', 'ferrum', 'bench', '--', '-pg']);
    expect(translateLlamaBenchFlags(['node', 'ferrum', '--no-color', 'bench', '-ctk', 'q8_0', '-ctv', 'q8_0'])).toEqual(['node', 'ferrum', '--no-color', 'bench', '--cache-type-k', 'q8_0', '--cache-type-v', 'q8_0']);
    // a prompt that says "bench" is not the command
    expect(translateLlamaBenchFlags(['node', 'ferrum', 'run', 'bench', '-pg'])).toEqual(['node', 'ferrum', 'run', 'bench', '-pg']);
    // -fa on is what ferrum does anyway; it goes, with its value
    expect(translateLlamaBenchFlags(['node', 'ferrum', 'bench', 'm.gguf', '-fa', '1', '-p', '8'])).toEqual(['node', 'ferrum', 'bench', 'm.gguf', '-p', '8']);
    expect(translateLlamaBenchFlags(['node', 'ferrum', 'bench', 'm.gguf', '--flash-attn', 'on,auto'])).toEqual(['node', 'ferrum', 'bench', 'm.gguf']);
  });

  it('--prio sets llama.cpp\'s nice value for each level, and a refusal is a one-line reason', () => {
    const asked: number[] = [];
    for (const level of [-1, 0, 1, 2, 3]) setPriority(level, (n) => asked.push(n));
    expect(asked).toEqual([5, -5, -10, -20]);
    const refuse = (): void => {
      throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
    };
    expect(() => setPriority(2, refuse)).toThrow(/^--prio 2: could not set the process's nice value to -10 \(EACCES\); a priority above normal needs root or CAP_SYS_NICE$/);
  });

  it('parses llama-bench\'s ranges, each end included, and refuses ones that never end', () => {
    expect(parseIntRanges('1-3,8', 0)).toEqual([1, 2, 3, 8]);
    expect(parseIntRanges('64-512*2', 0)).toEqual([64, 128, 256, 512]);
    expect(parseIntRanges('64-500*2', 0)).toEqual([64, 128, 256]);
    expect(parseIntRanges('0-10+5', 0)).toEqual([0, 5, 10]);
    expect(parseIntRanges(' 7 ', 1)).toEqual([7]);
    expect(parseIntRanges('4-4', 1)).toEqual([4]);
    expect(parseIntRanges('4-4*1', 1)).toMatch(/the step must make each number larger/);
    expect(parseIntRanges('0-4*3', 0)).toMatch(/the step must make each number larger/);
    expect(parseIntRanges('1-2*1', 0)).toMatch(/the step must make each number larger/);
    expect(parseIntRanges('1-2|3', 0)).toMatch(/expected whole numbers/);
    expect(parseIntRanges('', 0)).toMatch(/expected whole numbers/);
    expect(parseIntRanges(`0-${MAX_RANGE_VALUES - 1}`, 0)).toHaveLength(MAX_RANGE_VALUES);
    expect(parseIntRanges(`0-${MAX_RANGE_VALUES}`, 0)).toMatch(/more than/);
  });

  it('fills a depth once, untimed, after the warm-up, and times only what comes after it', () => {
    const calls: string[] = [];
    const engine: Evaluator = {
      eval: (tokens, pos0) => calls.push(`eval ${tokens.length}@${pos0}`),
      evalNext: (_token, pos) => calls.push(`next @${pos}`),
    };
    const tokens = new TokenSource(1000, 1, 7);
    expect(measure(engine, { nPrompt: 0, nGen: 2, nDepth: 5 }, { reps: 2, warmup: true, tokens })).toHaveLength(2);
    expect(calls).toEqual(['next @0', 'eval 5@0', 'next @5', 'next @6', 'next @5', 'next @6']);
    calls.length = 0;
    measure(engine, { nPrompt: 3, nGen: 0, nDepth: 5 }, { reps: 2, warmup: false, tokens });
    expect(calls).toEqual(['eval 5@0', 'eval 3@5', 'eval 3@5']);
  });

  it('uses the sample standard deviation, 0 for one sample (llama-bench\'s stdev)', () => {
    expect(stddev([5])).toBe(0);
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(mean([])).toBe(0);
  });

  it('keeps llama-bench\'s field order', () => {
    expect(FIELDS).toEqual(LLAMA_BENCH_FIELDS);
  });
});
