#!/usr/bin/env node
// ferrum bench against llama.cpp's llama-bench on the same GGUF files, same
// threads, same tests (-p prompt tokens in one prefill step, -n tokens decoded
// one at a time), runs alternating llama.cpp / ferrum / llama.cpp / ferrum so
// that drift in a shared machine's load hits both. Prints both speeds, the
// ratios, and decode as a share of the memory-bandwidth bound (weight bytes
// read per token x tokens/s / bandwidth measured by a probe in this script:
// the sustained rate of two seconds of streaming right before each run, and,
// beside it, the best single pass, a peak that no run of seconds holds), and
// each run's decode beside the probe taken right before it.
//
//   node scripts/bench-vs-llamacpp.mjs [MODEL.gguf ...] [-t N[,N...]] [-p 512] [-n 128] [-d 0] [-r 5] [--rounds 2] [--json]
//
// Without models it benchmarks random-weight fixtures of real model shapes
// (TinyLlama-1.1B in Q4_K_M, Q4_0, Q8_0; Qwen3-1.7B in Q4_K_M), made once by
// scripts/make-fixture.mjs. llama-bench is built once from node-llama-cpp's
// llama.cpp source and cached under ~/.cache/ferrum/llama-bench/
// (FERRUM_LLAMA_BENCH=/path/llama-bench to use another). Needs dist/ built.
// With --json the last line of stdout is {"results": [...]}.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { availableParallelism, cpus, homedir, loadavg, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDefaultFixtures } from './bench/fixtures.mjs';
import { ensureLlamaBench } from './bench/llama-bench.mjs';
import { decodeRounds, mean, pool } from './bench/rounds.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FERRUM = join(REPO_ROOT, 'bin/ferrum.js');
const PROBE_SRC = join(REPO_ROOT, 'scripts/bench/membw.c');
const CACHE = join(homedir(), '.cache/ferrum/llama-bench');

const USAGE = `usage: node scripts/bench-vs-llamacpp.mjs [MODEL.gguf ...] [options]
  -t, --threads N   threads for both; a comma list runs each (default: ${availableParallelism()}, this machine's)
  -p, --n-prompt N  prompt tokens, one prefill step (default 512)
  -n, --n-gen N     tokens decoded one at a time (default 128)
  -d, --n-depth N   tokens already in the context, filled untimed, before each test (default 0)
  -r, --reps N      timed repetitions per run, after a warm-up (default 5)
  --rounds N        llama.cpp/ferrum pairs per model, alternating (default 2: A B A B)
  --json            end with one line {"results": [...]}
Without MODEL files: TinyLlama-1.1B-shape Q4_K_M/Q4_0/Q8_0 and Qwen3-1.7B-shape Q4_K_M fixtures.`;

class BenchError extends Error {}
const log = (m) => process.stderr.write(`${m}\n`);

function parseArgs(argv) {
  const o = { models: [], threads: [availableParallelism()], nPrompt: 512, nGen: 128, nDepth: 0, reps: 5, rounds: 2, json: false };
  const num = (flag, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new BenchError(`${flag} needs a whole number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '-h': case '--help': o.help = true; break;
      case '-t': case '--threads': o.threads = String(argv[++i]).split(',').map((v) => num(a, v, 1)); break;
      case '-p': case '--n-prompt': o.nPrompt = num(a, argv[++i], 1); break;
      case '-n': case '--n-gen': o.nGen = num(a, argv[++i], 1); break;
      case '-d': case '--n-depth': o.nDepth = num(a, argv[++i], 0); break;
      case '-r': case '--reps': o.reps = num(a, argv[++i], 1); break;
      case '--rounds': o.rounds = num(a, argv[++i], 1); break;
      case '--json': o.json = true; break;
      default:
        if (a.startsWith('-')) throw new BenchError(`unknown option ${a} (see --help)`);
        if (!existsSync(a)) throw new BenchError(`${a}: no such file`);
        o.models.push({ label: basename(a), path: resolve(a), vocab: '' });
    }
  }
  return o;
}

// ---- memory bandwidth probe ----

/** The probe compiled once into the cache (keyed by its source); -march=native like GGML_NATIVE. */
function probeBinary() {
  const src = readFileSync(PROBE_SRC);
  const bin = join(CACHE, `membw-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  const r = spawnSync(process.env.CC ?? 'cc', ['-std=c11', '-O3', '-march=native', '-pthread', '-o', tmp, PROBE_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`compiling ${PROBE_SRC} failed: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n')[0]}`);
  renameSync(tmp, bin);
  return bin;
}

/** Seconds each probe streams: about as long as one decode run's timed part, so its rate is one a run could hold. */
const PROBE_SECONDS = 2;

/**
 * Read bandwidth in bytes/s with `threads` readers over 1 GiB (or an eighth
 * of RAM if smaller), passes for PROBE_SECONDS (at least 7): `sustained` is
 * all bytes over all that time, `best` the fastest single pass.
 */
function memoryBandwidth(threads) {
  const mib = Math.min(1024, Math.floor(totalmem() / 8 / 2 ** 20));
  const r = spawnSync(probeBinary(), [String(mib), String(threads), '7', String(PROBE_SECONDS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`the bandwidth probe failed (exit ${r.status ?? r.signal})`);
  const j = JSON.parse(r.stdout);
  return { best: j.best_gbs * 1e9, sustained: j.sustained_gbs * 1e9 };
}

// ---- the two tools ----

/** Run one tool's JSON output mode; returns llama-bench-format rows. */
function runJson(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.error) throw new BenchError(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new BenchError(`${what} failed (exit ${r.status ?? r.signal})`);
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new BenchError(`${what} printed no JSON array: ${r.stdout.slice(0, 200)}`);
  }
}

function testArgs(o, threads) {
  const depth = o.nDepth > 0 ? ['-d', String(o.nDepth)] : [];
  return ['-p', String(o.nPrompt), '-n', String(o.nGen), ...depth, '-r', String(o.reps), '-t', String(threads), '-o', 'json'];
}

const TOOLS = {
  llamacpp: (bin, model, o, t) => runJson(bin, ['-m', model, ...testArgs(o, t)], 'llama-bench'),
  ferrum: (_bin, model, o, t) => runJson(process.execPath, [FERRUM, 'bench', model, ...testArgs(o, t)], 'ferrum bench'),
};

// ---- statistics over the rounds ----

const sd = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

/**
 * Bytes a decode step reads: every weight tensor of the file once, except
 * the token embedding, of which one row is read (unless the output layer
 * reuses it, as tied models do, and then it is read whole); and at a depth,
 * the F16 KV cache's K and V rows of every layer, as many as the cached
 * positions of an average step of the test.
 */
async function bytesPerToken(path, o) {
  const { readGguf } = await import('../dist/gguf/index.js');
  const { readHParams } = await import('../dist/model/hparams.js');
  const f = readGguf(path);
  const tied = !f.tensors.some((t) => t.name === 'output.weight');
  let bytes = 0;
  for (const t of f.tensors) {
    if (t.name === 'token_embd.weight' && !tied) bytes += (t.bytes ?? 0) / t.dims[1];
    else bytes += t.bytes ?? 0;
  }
  if (o.nDepth > 0) {
    const hp = readHParams(f);
    bytes += 2 * hp.nLayer * hp.nHeadKV * hp.headDim * 2 * (o.nDepth + (o.nGen + 1) / 2);
  }
  return { bytes, fileSize: f.fileSize };
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const pm = (xs) => `${fmt(mean(xs))} ± ${fmt(sd(xs))}`;
const bwPair = (b) => `${fmt(b.sustained / 1e9, 1)} / ${fmt(b.best / 1e9, 1)} GB/s`;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!existsSync(join(REPO_ROOT, 'dist/cli/commands/bench.js'))) throw new BenchError('dist/ is not built: run `npx tsc -p tsconfig.json` first');
  const { bin, commit } = ensureLlamaBench(REPO_ROOT);
  const models = o.models.length > 0 ? o.models : ensureDefaultFixtures(REPO_ROOT, log);
  const { VERSION } = await import('../dist/cli/version.js');

  const load0 = loadavg();
  const bw0 = new Map(o.threads.map((t) => [t, memoryBandwidth(t)]));
  const results = [];
  const started = Date.now();
  for (const m of models) {
    const { bytes, fileSize } = await bytesPerToken(m.path, o);
    for (const threads of o.threads) {
      const runs = { llamacpp: [], ferrum: [] };
      // A probe right before each run: a shared machine's bandwidth drifts
      // by a fifth within minutes, so the start/end probes can be far from
      // what either tool had; these give the bound from the same minutes.
      const beside = [];
      for (let round = 1; round <= o.rounds; round++) {
        for (const tool of ['llamacpp', 'ferrum']) {
          log(`bench-vs-llamacpp: ${m.label}, ${threads} threads: round ${round}/${o.rounds}, ${tool === 'ferrum' ? 'ferrum' : 'llama.cpp'}`);
          beside.push(memoryBandwidth(threads));
          runs[tool].push(TOOLS[tool](bin, m.path, o, threads));
        }
      }
      results.push({
        m, threads, bytes, fileSize,
        sustained: mean(beside.map((b) => b.sustained)),
        best: Math.max(...beside.map((b) => b.best)),
        llamacpp: pool(runs.llamacpp), ferrum: pool(runs.ferrum),
        rounds: decodeRounds(runs, beside.map((b) => b.sustained), bytes),
      });
    }
  }
  const minutes = (Date.now() - started) / 60000;
  const load1 = loadavg();
  const bw1 = new Map(o.threads.map((t) => [t, memoryBandwidth(t)]));
  /** the best single pass of any probe of this run, at these threads */
  const peak = (r) => Math.max(bw0.get(r.threads).best, bw1.get(r.threads).best, r.best);

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `bench-vs-llamacpp ${date}: llama-bench (llama.cpp ${commit.slice(0, 12)}, GGML_NATIVE) vs ferrum ${VERSION} bench`,
    `machine: ${cpus()[0]?.model.trim() ?? '?'}, ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; `
      + `-p ${o.nPrompt} -n ${o.nGen}${o.nDepth > 0 ? ` -d ${o.nDepth}` : ''} -r ${o.reps}, ${o.rounds} round${o.rounds === 1 ? '' : 's'} alternating llama.cpp/ferrum per model and thread count; ${fmt(minutes, 1)} min`,
    `load average (1/5/15 min): ${load0.map((x) => fmt(x)).join(' ')} at the start, ${load1.map((x) => fmt(x)).join(' ')} at the end`,
    `memory read bandwidth (scripts/bench/membw.c, ${PROBE_SECONDS} s of passes over 1 GiB; sustained / best pass): ${o.threads.map((t) => `${t} threads ${bwPair(bw0.get(t))} before, ${bwPair(bw1.get(t))} after`).join('; ')}`,
    '',
    `| model | size | threads | test | llama.cpp t/s | ferrum t/s | ferrum / llama.cpp |`,
    '|---|---:|---:|---|---:|---:|---:|',
  ];
  const json = [];
  const at = o.nDepth > 0 ? ` @ d${o.nDepth}` : '';
  for (const r of results) {
    const fp = mean(r.ferrum.pp);
    const lp = mean(r.llamacpp.pp);
    const fd = mean(r.ferrum.tg);
    const ld = mean(r.llamacpp.tg);
    const size = `${fmt(r.fileSize / 2 ** 30, 2)} GiB`;
    lines.push(`| ${r.m.label} | ${size} | ${r.threads} | pp${o.nPrompt}${at} | ${pm(r.llamacpp.pp)} | ${pm(r.ferrum.pp)} | ${fmt(fp / lp, 3)} |`);
    lines.push(`| ${r.m.label} | ${size} | ${r.threads} | tg${o.nGen}${at} | ${pm(r.llamacpp.tg)} | ${pm(r.ferrum.tg)} | ${fmt(fd / ld, 3)} |`);
    json.push({
      model: r.m.label, threads: r.threads, ...(o.nDepth > 0 ? { depth: o.nDepth } : {}),
      ferrum_prefill: fp, llamacpp_prefill: lp, prefill_ratio: fp / lp,
      ferrum_decode: fd, llamacpp_decode: ld, decode_ratio: fd / ld,
      decode_share_of_bound: (fd * r.bytes) / r.sustained,
      llamacpp_decode_share_of_bound: (ld * r.bytes) / r.sustained,
      decode_share_of_peak: (fd * r.bytes) / peak(r),
      llamacpp_decode_share_of_peak: (ld * r.bytes) / peak(r),
      decode_rounds: r.rounds.map((x) => ({
        llamacpp_decode: x.llamacpp.tg, llamacpp_probe_gbs: x.llamacpp.probe / 1e9,
        ferrum_decode: x.ferrum.tg, ferrum_probe_gbs: x.ferrum.probe / 1e9, decode_ratio: x.ratio,
      })),
    });
  }
  lines.push('', `decode against the memory-bandwidth bound (bound t/s = bandwidth / ${o.nDepth > 0 ? 'weight and KV cache' : 'weight'} bytes read per token; bound: the mean`,
    `sustained rate of the ${PROBE_SECONDS}-second probes right before each of this model's runs; peak: the best single pass of any probe):`, '',
    `| model | threads | ${o.nDepth > 0 ? 'weight + KV' : 'weight'} MB / token | bound GB/s | bound t/s | llama.cpp share | ferrum share | peak GB/s | llama.cpp share of peak | ferrum share of peak |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const bound = r.sustained / r.bytes;
    const top = peak(r) / r.bytes;
    const [l, f] = [mean(r.llamacpp.tg), mean(r.ferrum.tg)];
    lines.push(`| ${r.m.label} | ${r.threads} | ${fmt(r.bytes / 1e6, 1)} | ${fmt(r.sustained / 1e9, 1)} | ${fmt(bound, 1)} | ${fmt(l / bound, 3)} | ${fmt(f / bound, 3)} `
      + `| ${fmt(peak(r) / 1e9, 1)} | ${fmt(l / top, 3)} | ${fmt(f / top, 3)} |`);
  }
  lines.push('', 'decode run by run, each beside the probe right before it (sustained GB/s) and its share of that probe:', '',
    '| model | threads | round | llama.cpp t/s | probe | share | ferrum t/s | probe | share | ferrum / llama.cpp |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const x of r.rounds) {
      const side = (s) => `${fmt(s.tg)} | ${fmt(s.probe / 1e9, 1)} | ${fmt(s.share, 3)}`;
      lines.push(`| ${r.m.label} | ${r.threads} | ${x.round} | ${side(x.llamacpp)} | ${side(x.ferrum)} | ${fmt(x.ratio, 3)} |`);
    }
  }
  const vocabs = [...new Set(results.map((r) => r.m.vocab).filter(Boolean))];
  if (vocabs.length > 0) lines.push('', `fixtures: random weights (${vocabs.join(', ')}); ${results.map((r) => basename(r.m.path)).join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify({ results: json })}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench-vs-llamacpp: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.FERRUM_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
