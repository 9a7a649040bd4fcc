#!/usr/bin/env node
// Where a decode step's time goes, op by op, timed inside the replayed step
// (FERRUM_PROFILE=1 runs ops one FFI call each, which swamps the small ones).
// Builds the CPU library once more with -DFR_PLAN_PROFILE (native-shim/cpu/
// plan_profile.h) into ~/.cache/ferrum/step-profile/, runs `ferrum bench -p 0
// -n N` on it and prints the table the library writes at exit: microseconds
// a step per op, for even (A) and odd (B) steps; mul_mat rows are split by
// weight size (attn_output and ffn_down apart) and show the GB/s at which
// their weights streamed.
//
//   node scripts/step-profile.mjs MODEL.gguf [-n 128] [-r 3] [-t 2] [--cflags "-DMY_SWITCH=1"]
//
// A/B: code that reads fr_plan_step_b takes one path on A steps and another
// on B steps; the last line's B/A is then the ratio of step times, measured
// interleaved in the same minute. Pass the switch's macros with --cflags.
// Even and odd steps are not always alike (B/A of 0.97-1.01 seen with no
// change at all, 2026-12-05, when the warm-up step, which first touches the
// KV cache's pages, was still counted in A; it is not since 2026-12-07): for
// effects of a few percent, run it both ways round (e.g. `fr_plan_step_b ==
// FR_AB` with -DFR_AB=1, then 0).
// Needs dist/ built and a C compiler; -march=native, so the numbers are this
// CPU's.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(REPO_ROOT, 'native-shim/cpu');
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ferrum', 'step-profile');

function fail(msg) {
  console.error(`step-profile: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { model: '', n: 128, reps: 3, threads: 2, cflags: [] };
  const num = (flag, v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) fail(`${flag} needs a positive whole number, got ${v}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-n') o.n = num(a, argv[++i]);
    else if (a === '-r') o.reps = num(a, argv[++i]);
    else if (a === '-t') o.threads = num(a, argv[++i]);
    else if (a === '--cflags') o.cflags = (argv[++i] ?? '').split(/\s+/).filter(Boolean);
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/step-profile.mjs MODEL.gguf [-n 128] [-r 3] [-t 2] [--cflags "..."]');
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a} (see --help)`);
    else if (o.model) fail('one model only');
    else o.model = resolve(a);
  }
  if (!o.model) fail('no model given (see --help)');
  if (!existsSync(o.model)) fail(`${o.model}: no such file`);
  return o;
}

function sources(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : f.endsWith('.c') ? [p] : [];
  });
}

/** The profiling library for these sources and flags, built once. */
function profileLibrary(extra) {
  const files = sources(SRC).sort();
  const headers = [SRC, join(SRC, 'quants'), join(REPO_ROOT, 'native-shim/include'), join(REPO_ROOT, 'metal')]
    .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.h')).map((f) => join(d, f)));
  const flags = ['-std=c11', '-O3', '-march=native', '-fPIC', '-pthread', '-fvisibility=hidden', '-DFR_PLAN_PROFILE',
    '-DFR_CPU_VARIANT="profile"', '-I', join(REPO_ROOT, 'native-shim/include'), '-I', SRC, ...extra];
  const h = createHash('sha256').update(JSON.stringify(flags));
  for (const f of [...files, ...headers].sort()) h.update(f).update(readFileSync(f));
  const dir = join(CACHE, h.digest('hex').slice(0, 12));
  const lib = join(dir, process.platform === 'darwin' ? 'libferrum_cpu-profile.dylib' : 'libferrum_cpu-profile.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  const tmp = `${lib}.tmp-${process.pid}`;
  console.error(`step-profile: building ${lib} (${files.length} sources)`);
  const r = spawnSync(process.env.CC || 'cc', [...flags, '-shared', '-o', tmp, ...files, '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) fail(`compiling failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 5).join(' | ')}`);
  renameSync(tmp, lib);
  return lib;
}

const o = parseArgs(process.argv.slice(2));
const lib = profileLibrary(o.cflags);
const args = [join(REPO_ROOT, 'bin/ferrum.js'), 'bench', o.model, '-p', '0', '-n', String(o.n), '-r', String(o.reps), '-t', String(o.threads)];
const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, FERRUM_CPU_LIB: lib } });
if (r.status !== 0) fail(`ferrum bench failed: ${(r.stderr || '').trim().split('\n').pop()}`);
process.stdout.write(r.stdout.split('\n').filter((l) => l.includes(`tg${o.n}`)).join('\n') + '\n');
const table = r.stderr.split('\n').filter((l, i, all) => i >= all.findIndex((x) => x.startsWith('step profile')));
if (!table.length || !table[0].startsWith('step profile')) fail('the library wrote no profile (was the step replayed?)');
process.stdout.write(table.join('\n').trimEnd() + '\n');
