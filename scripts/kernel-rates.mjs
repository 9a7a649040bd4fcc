#!/usr/bin/env node
// Where a decode token's CPU time goes in llama-bench and in `ferrum bench`,
// kernel by weight type, from `perf record` samples of both on the same file
// (tg only: -p 0). A weight type's rate is its bytes read per token over the
// time the threads spent in its kernels (CPU time / threads): the two
// engines' matmul kernels compared in the same minutes, apart from their
// other costs (threads waiting, attention, norms), which land in "rest".
// Decode reads every weight once per token, so a kernel's rate is the memory
// rate it extracts; where both engines' kernels of one type stream at the
// same rate, no kernel change can open a lead on that type's bytes.
//
//   node scripts/kernel-rates.mjs MODEL.gguf... [-n 128] [-r 2] [-t 2] [--rounds 1]
//
// Dense models: a mixture of experts reads only the chosen experts' bytes.
// Needs Linux `perf` (Debian: linux-perf) with cpu-clock sampling; builds or
// reuses llama-bench as bench-vs-llamacpp does (FERRUM_LLAMA_BENCH overrides).
// Samples are of whole processes, load included: symbols that only run at
// load (repacking, page clearing) are left out by name, the rest of the
// load's time lands in "rest" of both sides alike.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parsePerfReport, samplesByType } from './bench/kernel-symbols.mjs';
import { ensureLlamaBench, LlamaBenchError } from './bench/llama-bench.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FREQ = 1999;

function fail(msg) {
  console.error(`kernel-rates: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { models: [], n: 128, r: 2, t: 2, rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) fail(`${a} needs a positive integer`);
      return v;
    };
    if (a === '-n') o.n = num();
    else if (a === '-r') o.r = num();
    else if (a === '-t') o.t = num();
    else if (a === '--rounds') o.rounds = num();
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/kernel-rates.mjs MODEL.gguf... [-n 128] [-r 2] [-t 2] [--rounds 1]');
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else o.models.push(a);
  }
  if (!o.models.length) fail('give at least one MODEL.gguf');
  for (const m of o.models) if (!existsSync(m)) fail(`${m}: no such file`);
  return o;
}

/** bytes of each weight type a decode token reads: every matrix but
 * token_embd (one row of it), unless the model has no output.weight and
 * token_embd is the output matrix too */
function weightBytes(model) {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/ferrum.js'), 'inspect', '--json', model], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`ferrum inspect ${model}: ${r.stderr.trim()}`);
  const bytes = new Map();
  const tensors = JSON.parse(r.stdout).tensors;
  const tied = !tensors.some((t) => t.name === 'output.weight');
  for (const t of tensors) {
    if ((t.name === 'token_embd.weight' && !tied) || t.shape.length < 2) continue;
    const type = t.type.toLowerCase();
    bytes.set(type, (bytes.get(type) ?? 0) + t.bytes);
  }
  return bytes;
}

/** samples per symbol of a perf.data file */
function perfSymbols(data) {
  const r = spawnSync('perf', ['report', '-i', data, '-n', '--sort', 'symbol', '--stdio'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`perf report: ${r.stderr.trim()}`);
  return parsePerfReport(r.stdout);
}

function record(dir, name, cmd, args) {
  const data = join(dir, `${name}.data`);
  const r = spawnSync('perf', ['record', '-q', '-F', String(FREQ), '-o', data, '--', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) fail(`${basename(cmd)} under perf failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const row = r.stdout.split('\n').find((l) => /\btg\d+\b/.test(l));
  const tps = row ? Number(/\|\s*([\d.]+) ± /.exec(row)?.[1]) : NaN;
  if (!Number.isFinite(tps)) fail(`no tg row in ${basename(cmd)}'s output`);
  return { tps, symbols: perfSymbols(data) };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (spawnSync('perf', ['--version']).status !== 0) fail('needs Linux perf (Debian: apt-get install linux-perf)');
  let llamaBench;
  try {
    llamaBench = ensureLlamaBench(REPO).bin;
  } catch (e) {
    if (e instanceof LlamaBenchError) fail(e.message);
    throw e;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferrum-kernel-rates-'));
  // fail() exits from inside the loop: the perf.data files go either way
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const common = ['-p', '0', '-n', String(o.n), '-r', String(o.r), '-t', String(o.t)];
  // the timed repetitions plus the one-token warm-up both benches run
  const tokens = o.r * o.n + 1;
  console.log(`kernel-rates: tg${o.n}, ${o.t} threads, ${o.r} repetitions + warm-up, perf cpu-clock at ${FREQ} Hz, ${o.rounds} round(s) alternating llama.cpp/ferrum`);
  for (const model of o.models) {
    const types = weightBytes(model);
    const sides = { 'llama.cpp': [], ferrum: [] };
    for (let round = 0; round < o.rounds; round++) {
      sides['llama.cpp'].push(record(dir, 'llama', llamaBench, ['-m', model, ...common]));
      sides.ferrum.push(record(dir, 'ferrum', process.execPath, [join(REPO, 'bin/ferrum.js'), 'bench', model, ...common]));
    }
    console.log(`\n${basename(model)}: weight MB a token ${[...types].map(([t, b]) => `${t} ${(b / 1e6).toFixed(1)}`).join(', ')}\n`);
    console.log('| engine | tg t/s | ' + [...types.keys()].map((t) => `${t} ms/token | ${t} GB/s`).join(' | ') + ' | rest ms/token (load included) |');
    console.log('|---|---:|' + [...types.keys()].map(() => '---:|---:').join('|') + '|---:|');
    for (const [engine, runs] of Object.entries(sides)) {
      const tps = runs.reduce((s, x) => s + x.tps, 0) / runs.length;
      const cells = [];
      const all = runs.map((x) => samplesByType(x.symbols, [...types.keys()]));
      for (const [type, bytes] of types) {
        // wall time a token the threads spent in this type's kernels
        const s = all.reduce((acc, c) => acc + c.perType.get(type), 0) / FREQ / runs.length / tokens / o.t;
        cells.push((s * 1e3).toFixed(2), s > 0 ? (bytes / s / 1e9).toFixed(1) : '-');
      }
      const rest = all.reduce((acc, c) => acc + c.rest, 0) / FREQ / runs.length / tokens / o.t;
      console.log(`| ${engine} | ${tps.toFixed(2)} | ${cells.join(' | ')} | ${(rest * 1e3).toFixed(2)} |`);
    }
  }
}

main();
