#!/usr/bin/env node
// build-native.mjs — compiles native-shim/cpu/**/*.c once per CPU variant into
// build/native/libferrum_cpu-<variant>.so (.dylib on macOS) with the system C
// compiler; src/backend/cpu-library.ts loads the best one the running CPU
// supports (what ggml's GGML_CPU_ALL_VARIANTS does).
//
// Variants: x86-64 has portable (the compiler's baseline), avx2 (x86-64-v3)
// avx512 (x86-64-v4 + VNNI) and avx512bf16 (that + AVX512-BF16); other architectures have portable and
// native (-march/-mcpu=native). By default portable plus every variant this
// CPU can run is built; FERRUM_CPU_VARIANTS=all (or a comma list) builds
// those the compiler accepts, whatever this CPU is (for packaging).
// Portable always builds; a variant the compiler rejects is skipped.
//
// No dependencies: runs from `npm install` (postinstall) before anything else.
// Prints one line; exits non-zero with a one-line message when it cannot build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMetal } from './build-metal.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native-shim', 'cpu');
const outDir = join(root, 'build', 'native');
const objRoot = join(outDir, 'obj');
const isMac = process.platform === 'darwin';
const ext = isMac ? 'dylib' : 'so';
const libName = (variant) => `libferrum_cpu-${variant}.${ext}`;
const cc = process.env.CC || 'cc';
const JOBS = 2;

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

/*
 * Each variant: the flag sets to try in order (the first the compiler
 * accepts wins), the macros those flags must define (the code keys its SIMD
 * paths on them: quants/kernels.h's FR_QUANTS_AVX2 / FR_QUANTS_AVX512), and
 * the CPU features (__builtin_cpu_supports names) it needs at run time,
 * which cpu_variant.c's fr_cpu_supported() checks from the same macros.
 * -mtune=native changes instruction scheduling only, never the instruction
 * set, so the library still runs on any CPU with the variant's features;
 * tuned for the building CPU (as -march=native was before variants) Q4_0
 * prefill on Zen 3 is back to -march=native's speed, a few percent above
 * generic tuning.
 */
const AVX2_MACROS = ['__AVX2__', '__FMA__', '__F16C__', '__BMI2__'];
const AVX2_NEEDS = ['avx2', 'fma', 'f16c', 'bmi2'];
const X86_VARIANTS = {
  portable: { flagSets: [[]], macros: [], needs: [] },
  avx2: {
    flagSets: [['-march=x86-64-v3', '-mtune=native'], ['-march=x86-64-v3'], ['-mavx2', '-mfma', '-mf16c', '-mbmi2']],
    macros: AVX2_MACROS,
    needs: AVX2_NEEDS,
  },
  avx512: {
    flagSets: [
      ['-march=x86-64-v4', '-mavx512vnni', '-mtune=native'],
      ['-march=x86-64-v4', '-mavx512vnni'],
      ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512cd', '-mavx512vl', '-mavx512vnni', '-mavx2', '-mfma', '-mf16c', '-mbmi2'],
    ],
    macros: [...AVX2_MACROS, '__AVX512F__', '__AVX512BW__', '__AVX512DQ__', '__AVX512CD__', '__AVX512VL__', '__AVX512VNNI__'],
    needs: [...AVX2_NEEDS, 'avx512f', 'avx512bw', 'avx512dq', 'avx512cd', 'avx512vl', 'avx512vnni'],
  },
  // avx512 plus vdpbf16ps (Zen 4, Sapphire Rapids, Cooper Lake): BF16 weights
  // (quants/fp.c), summed as ggml's zen4 build sums them
  avx512bf16: {
    flagSets: [
      ['-march=x86-64-v4', '-mavx512vnni', '-mavx512bf16', '-mtune=native'],
      ['-march=x86-64-v4', '-mavx512vnni', '-mavx512bf16'],
    ],
    macros: [...AVX2_MACROS, '__AVX512F__', '__AVX512BW__', '__AVX512DQ__', '__AVX512CD__', '__AVX512VL__', '__AVX512VNNI__', '__AVX512BF16__'],
    needs: [...AVX2_NEEDS, 'avx512f', 'avx512bw', 'avx512dq', 'avx512cd', 'avx512vl', 'avx512vnni', 'avx512bf16'],
  },
};
// native targets the build machine, so it runs wherever it was built
const NATIVE = { flagSets: [['-march=native'], ['-mcpu=native']], macros: [], needs: [] };
const OTHER_VARIANTS = { portable: { flagSets: [[]], macros: [], needs: [] }, native: NATIVE };

function walk(dir, suffix, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, suffix, out);
    else if (entry.name.endsWith(suffix)) out.push(path);
  }
  return out;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);
// Outputs are written under a per-process name and renamed into place, so
// two builds racing (npm install beside a test run) never leave a torn file.
const tmp = (path) => `${path}.${process.pid}.tmp`;

const sources = walk(srcDir, '.c').sort();
if (sources.length === 0) fail(`no C sources under ${relative(root, srcDir)}`);
const headers = [
  ...walk(join(root, 'native-shim'), '.h'),
  join(root, 'metal', 'ferrum_params.h'),
];
const newestHeader = Math.max(...headers.map(mtime), mtime(fileURLToPath(import.meta.url)));
const newestInput = Math.max(newestHeader, ...sources.map(mtime));

const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  fail(`no C compiler found (tried '${cc}'; set CC or install gcc/clang, e.g. apt-get install gcc / xcode-select --install)`);
}
mkdirSync(objRoot, { recursive: true });

/** Compile a throwaway C source with `args`; returns the result and cleans up. */
function tryCompile(source, args, { link = false } = {}) {
  const src = tmp(join(objRoot, 'probe.c'));
  const out = tmp(join(objRoot, link ? 'probe' : 'probe.o'));
  writeFileSync(src, source);
  const r = spawnSync(cc, [...args, ...(link ? [] : ['-c']), src, '-o', out], { encoding: 'utf8' });
  rmSync(src, { force: true });
  return { ok: !r.error && r.status === 0, out, cleanup: () => rmSync(out, { force: true }) };
}

const x86 = tryCompile('#ifndef __x86_64__\n#error not x86-64\n#endif\nint fr_probe;\n', []);
x86.cleanup();
const VARIANTS = x86.ok ? X86_VARIANTS : OTHER_VARIANTS;

/**
 * The features of this CPU as __builtin_cpu_supports names, from a probe
 * compiled for the baseline (so it runs anywhere); /proc/cpuinfo when the
 * compiler lacks a name. undefined when neither works.
 */
function hostFeatures() {
  const names = [...new Set(Object.values(VARIANTS).flatMap((v) => v.needs))];
  const checks = names.map((n) => `  if (__builtin_cpu_supports("${n}")) puts("${n}");`).join('\n');
  const exe = tryCompile(`#include <stdio.h>\nint main(void) {\n  __builtin_cpu_init();\n${checks}\n  return 0;\n}\n`, [], { link: true });
  if (exe.ok) {
    const r = spawnSync(exe.out, [], { encoding: 'utf8' });
    exe.cleanup();
    if (r.status === 0) return new Set(r.stdout.split('\n').filter(Boolean));
  }
  exe.cleanup();
  if (process.platform !== 'linux') return undefined;
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/);
  // cpuinfo spells VNNI and BF16 avx512_vnni and avx512_bf16; the other names match
  const spelled = { avx512_vnni: 'avx512vnni', avx512_bf16: 'avx512bf16' };
  return flags ? new Set(flags.map((f) => spelled[f] ?? f)) : undefined;
}

/** Which variants to build: portable first, then FERRUM_CPU_VARIANTS or what this CPU runs. */
function wantedVariants() {
  const env = (process.env.FERRUM_CPU_VARIANTS ?? '').trim();
  if (env === 'all') return { names: Object.keys(VARIANTS), why: 'all' };
  if (env !== '') {
    const list = env.split(',').map((s) => s.trim()).filter(Boolean);
    const known = { ...VARIANTS, native: NATIVE };
    const bad = list.find((v) => !(v in known));
    if (bad) fail(`FERRUM_CPU_VARIANTS: unknown variant "${bad}" (use all or a comma list of ${Object.keys(known).join(', ')})`);
    return { names: ['portable', ...list.filter((v) => v !== 'portable')], why: 'listed' };
  }
  if (!x86.ok) return { names: Object.keys(VARIANTS), why: 'host' };
  const have = hostFeatures();
  // unknown CPU: build them all and let the loader ask each library
  if (!have) return { names: Object.keys(VARIANTS), why: 'all' };
  const names = Object.entries(VARIANTS).filter(([, v]) => v.needs.every((n) => have.has(n))).map(([k]) => k);
  return { names, why: 'host', lacking: Object.keys(VARIANTS).filter((k) => !names.includes(k)) };
}

/** The first flag set of `variant` the compiler accepts and that defines its macros, or undefined. */
function variantFlags(variant) {
  const spec = VARIANTS[variant] ?? NATIVE;
  const src = `${spec.macros.map((m) => `#ifndef ${m}\n#error ${m}\n#endif\n`).join('')}int fr_probe;\n`;
  for (const flags of spec.flagSets) {
    const r = tryCompile(src, flags);
    r.cleanup();
    if (r.ok) return flags;
  }
  return undefined;
}

const wanted = wantedVariants();
const notes = [];
if (wanted.lacking?.length) notes.push(`this CPU cannot run ${wanted.lacking.join(', ')}, not built`);

const common = [
  '-std=c11', '-O3', '-fPIC', '-pthread', '-fvisibility=hidden',
  '-Wall', '-Wextra', '-I', join(root, 'native-shim', 'include'), '-I', srcDir,
];

const builds = [];
for (const variant of wanted.names) {
  const flags = variantFlags(variant);
  if (!flags) {
    const tried = (VARIANTS[variant] ?? NATIVE).flagSets.map((f) => f.join(' ')).join(' / ');
    // the baseline build has no flags to reject; failing here means a broken compiler
    if (variant === 'portable') fail(`${cc} cannot compile C (${tried || 'no flags'})`);
    notes.push(`${variant} skipped (${cc} rejects ${tried})`);
    continue;
  }
  const objDir = join(objRoot, variant);
  const cflags = [...common, ...flags, `-DFR_CPU_VARIANT="${variant}"`];
  // a change of flags (another compiler, the fallback flag set) makes every object stale
  const stamp = join(objDir, 'cflags');
  const sameFlags = existsSync(stamp) && readFileSync(stamp, 'utf8') === JSON.stringify([cc, ...cflags]);
  const lib = join(outDir, libName(variant));
  const objects = sources.map((src) => join(objDir, relative(srcDir, src).replace(/[\\/]/g, '__').replace(/\.c$/, '.o')));
  const upToDate = sameFlags && mtime(lib) >= newestInput;
  builds.push({ variant, flags, cflags, objDir, stamp, sameFlags, lib, objects, upToDate });
}

// Libraries from an earlier build that this one leaves alone must not be
// loaded once they are older than the sources: the loader would run old code.
for (const variant of Object.keys({ ...VARIANTS, native: NATIVE })) {
  const lib = join(outDir, libName(variant));
  if (!builds.some((b) => b.variant === variant) && existsSync(lib) && mtime(lib) < newestInput) {
    rmSync(lib, { force: true });
    notes.push(`removed stale ${libName(variant)}`);
  }
}
// the single-library layout before variants
rmSync(join(outDir, `libferrum_cpu.${ext}`), { force: true });
for (const f of existsSync(objRoot) ? readdirSync(objRoot) : []) if (f.endsWith('.o')) rmSync(join(objRoot, f), { force: true });

// "build/native/libferrum_cpu-{portable,avx2}.so": every library in one name
const where = relative(root, join(outDir, libName(`{${builds.map((b) => b.variant).join(',')}}`)));
const tail = notes.length ? `; ${notes.join('; ')}` : '';

if (builds.every((b) => b.upToDate)) {
  console.log(`build-native: ${where} up to date${tail}`);
  buildMetal();
  process.exit(0);
}

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (e) => resolve({ code: -1, output: String(e) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

const started = Date.now();
const stale = [];
for (const b of builds.filter((x) => !x.upToDate)) {
  mkdirSync(b.objDir, { recursive: true });
  sources.forEach((src, i) => {
    const obj = b.objects[i];
    if (!b.sameFlags || mtime(obj) < Math.max(mtime(src), newestHeader)) stale.push({ b, src, obj });
  });
}

let failed = null;
let warnings = '';
async function worker() {
  while (stale.length && !failed) {
    const { b, src, obj } = stale.shift();
    const r = await run([...b.cflags, '-c', src, '-o', tmp(obj)]);
    if (r.code !== 0) {
      failed = { b, src, output: r.output };
      rmSync(tmp(obj), { force: true });
    } else {
      renameSync(tmp(obj), obj);
      warnings += r.output;
    }
  }
}
await Promise.all(Array.from({ length: JOBS }, worker));
if (failed) {
  process.stderr.write(failed.output);
  fail(`compiling ${relative(root, failed.src)} for ${failed.b.variant} failed`);
}
if (warnings.trim()) process.stderr.write(warnings);

for (const b of builds.filter((x) => !x.upToDate)) {
  writeFileSync(b.stamp, JSON.stringify([cc, ...b.cflags]));
  const soname = libName(b.variant);
  const linkFlags = isMac
    ? ['-dynamiclib', '-install_name', `@rpath/${soname}`]
    : ['-shared', '-Wl,--no-undefined', `-Wl,-soname,${soname}`];
  const linked = await run([...linkFlags, '-pthread', '-o', tmp(b.lib), ...b.objects, '-lm']);
  if (linked.code !== 0) {
    rmSync(tmp(b.lib), { force: true });
    process.stderr.write(linked.output);
    fail(`linking ${relative(root, b.lib)} failed`);
  }
  renameSync(tmp(b.lib), b.lib);
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
const how = builds.filter((b) => b.flags.length).map((b) => `; ${b.variant}: ${b.flags.join(' ')}`).join('');
console.log(`build-native: built ${where} from ${sources.length} sources in ${secs}s (${cc}${how})${tail}`);
buildMetal();
