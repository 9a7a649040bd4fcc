#!/usr/bin/env node
// build-native.mjs — compiles native-shim/cpu/**/*.c into
// build/native/libferrum_cpu.so (.dylib on macOS) with the system C compiler.
// No dependencies: runs from `npm install` (postinstall) before anything else.
// Prints one line; exits non-zero with a one-line message when it cannot build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMetal } from './build-metal.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native-shim', 'cpu');
const outDir = join(root, 'build', 'native');
const objDir = join(outDir, 'obj');
const isMac = process.platform === 'darwin';
const lib = join(outDir, isMac ? 'libferrum_cpu.dylib' : 'libferrum_cpu.so');
const cc = process.env.CC || 'cc';
const JOBS = 2;

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

function walk(dir, ext, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, ext, out);
    else if (entry.name.endsWith(ext)) out.push(path);
  }
  return out;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);

const sources = walk(srcDir, '.c').sort();
if (sources.length === 0) fail(`no C sources under ${relative(root, srcDir)}`);
const headers = [
  ...walk(join(root, 'native-shim'), '.h'),
  join(root, 'metal', 'ferrum_params.h'),
];
const newestHeader = Math.max(...headers.map(mtime), mtime(fileURLToPath(import.meta.url)));
const newestInput = Math.max(newestHeader, ...sources.map(mtime));

if (existsSync(lib) && mtime(lib) >= newestInput) {
  console.log(`build-native: ${relative(root, lib)} is up to date`);
  buildMetal();
  process.exit(0);
}

const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  fail(`no C compiler found (tried '${cc}'; set CC or install gcc/clang, e.g. apt-get install gcc / xcode-select --install)`);
}

mkdirSync(objDir, { recursive: true });

// -march=native is what makes the SIMD paths fast; some compilers (older
// Apple clang on arm64) reject it, and then the portable build still works.
// Outputs are written under a per-process name and renamed into place, so
// two builds racing (npm install beside a test run) never leave a torn file.
const tmp = (path) => `${path}.${process.pid}.tmp`;

function acceptsFlag(flag) {
  const probeSrc = tmp(join(objDir, 'probe.c'));
  writeFileSync(probeSrc, 'int fr_probe(void) { return 0; }\n');
  const r = spawnSync(cc, [flag, '-c', probeSrc, '-o', tmp(join(objDir, 'probe.o'))], { encoding: 'utf8' });
  rmSync(probeSrc, { force: true });
  rmSync(tmp(join(objDir, 'probe.o')), { force: true });
  return !r.error && r.status === 0;
}
const arch = acceptsFlag('-march=native') ? ['-march=native'] : [];

const cflags = [
  '-std=c11', '-O3', ...arch, '-fPIC', '-pthread', '-fvisibility=hidden',
  '-Wall', '-Wextra', '-I', join(root, 'native-shim', 'include'), '-I', srcDir,
];

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
const objects = sources.map((src) => join(objDir, relative(srcDir, src).replace(/[\\/]/g, '__').replace(/\.c$/, '.o')));
const stale = sources
  .map((src, i) => ({ src, obj: objects[i] }))
  .filter(({ src, obj }) => mtime(obj) < Math.max(mtime(src), newestHeader));

let failed = null;
let warnings = '';
async function worker() {
  while (stale.length && !failed) {
    const { src, obj } = stale.shift();
    const r = await run([...cflags, '-c', src, '-o', tmp(obj)]);
    if (r.code !== 0) {
      failed = { src, output: r.output };
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
  fail(`compiling ${relative(root, failed.src)} failed`);
}
if (warnings.trim()) process.stderr.write(warnings);

const linkFlags = isMac
  ? ['-dynamiclib', '-install_name', '@rpath/libferrum_cpu.dylib']
  : ['-shared', '-Wl,--no-undefined', '-Wl,-soname,libferrum_cpu.so'];
const linked = await run([...linkFlags, '-pthread', '-o', tmp(lib), ...objects, '-lm']);
if (linked.code !== 0) {
  rmSync(tmp(lib), { force: true });
  process.stderr.write(linked.output);
  fail(`linking ${relative(root, lib)} failed`);
}
renameSync(tmp(lib), lib);
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`build-native: built ${relative(root, lib)} from ${sources.length} sources (${cc}${arch.length ? ' -march=native' : ''}) in ${secs}s`);
buildMetal();
