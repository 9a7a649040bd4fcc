#!/usr/bin/env node
// build-metal-emu.mjs — builds build/metal-emu/libferrum_metalemu.so, the
// test-only Metal emulator executor (tools/metal-emu/host.cc). It implements
// the same ABI as the CPU executor and reuses the CPU executor's objects
// (handles, device, maps, buffers, plans, op checks) from
// build/native/obj/portable (the variant every build has; none of its SIMD
// matters here), replacing only the kernel registry and dispatch. Linux only; needs a C++
// compiler here and clang++ at run time (kernels compile on first use).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const objDir = join(root, 'build', 'native', 'obj', 'portable');
const outDir = join(root, 'build', 'metal-emu');
const lib = join(outDir, 'libferrum_metalemu.so');
const host = join(root, 'tools', 'metal-emu', 'host.cc');
const cxx = process.env.CXX || (spawnSync('clang++', ['--version']).status === 0 ? 'clang++' : 'c++');

function fail(message) {
  console.error(`build-metal-emu: ${message}`);
  process.exit(1);
}
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

const native = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
if (native.status !== 0) fail('the CPU objects did not build');
// the objects of today's CPU sources (named as build-native.mjs names them), minus
// the kernel registry and dispatch, which host.cc replaces
const srcDir = join(root, 'native-shim', 'cpu');
const walk = (dir, out = []) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.c')) out.push(p);
  }
  return out;
};
const objects = walk(srcDir)
  .map((src) => relative(srcDir, src).replace(/[\\/]/g, '__').replace(/\.c$/, '.o'))
  .filter((f) => f !== 'kernels.o' && f !== 'dispatch.o')
  .map((f) => join(objDir, f));
const missing = objects.find((o) => !existsSync(o));
if (missing) fail(`${relative(root, missing)} is missing: run \`npm run build:native\``);
const newest = Math.max(mtime(host), mtime(fileURLToPath(import.meta.url)), ...objects.map(mtime));
if (existsSync(lib) && mtime(lib) >= newest) {
  console.log(`build-metal-emu: ${relative(root, lib)} is up to date`);
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
const tmp = `${lib}.${process.pid}.tmp`;
const r = spawnSync(cxx, [
  '-std=c++17', '-O2', '-fPIC', '-shared', '-pthread', '-fvisibility=hidden', '-Wall',
  '-I', join(root, 'native-shim', 'cpu'), '-I', join(root, 'native-shim', 'include'),
  host, ...objects, '-Wl,--wrap=fr_need', '-Wl,--allow-multiple-definition', '-Wl,--no-undefined', '-ldl', '-lm', '-o', tmp,
], { encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  process.stderr.write(r.stderr ?? String(r.error));
  fail(`compiling ${relative(root, host)} failed (${cxx})`);
}
if (r.stderr.trim()) process.stderr.write(r.stderr);
renameSync(tmp, lib);
console.log(`build-metal-emu: built ${relative(root, lib)} (${cxx})`);
