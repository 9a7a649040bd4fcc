// llama-bench, built once from the llama.cpp source node-llama-cpp ships (a git
// bundle of the commit its prebuilt binaries come from) and cached under
// ~/.cache/ferrum/llama-bench/<commit>/. Nothing of llama.cpp enters the repo.
// FERRUM_LLAMA_BENCH=/path/to/llama-bench uses an existing binary instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export class LlamaBenchError extends Error {}

const CACHE = process.env.FERRUM_LLAMA_BENCH_CACHE ?? join(homedir(), '.cache/ferrum/llama-bench');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) throw new LlamaBenchError(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new LlamaBenchError(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

export function bundlePath(repoRoot) {
  return resolve(repoRoot, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');
}

/** The bundle's commit, or undefined when node-llama-cpp is not installed. */
export function bundleCommit(repoRoot) {
  const bundle = bundlePath(repoRoot);
  if (!existsSync(bundle)) return undefined;
  return execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' }).trim().split(/\s/)[0];
}

/**
 * Path of a llama-bench binary: FERRUM_LLAMA_BENCH, else the cached build of
 * the bundle's commit, built on first use (~6 minutes on 2 cores; `log` gets a line per step).
 */
export function ensureLlamaBench(repoRoot, { jobs = 2, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (process.env.FERRUM_LLAMA_BENCH) {
    if (!existsSync(process.env.FERRUM_LLAMA_BENCH)) throw new LlamaBenchError(`FERRUM_LLAMA_BENCH=${process.env.FERRUM_LLAMA_BENCH}: no such file`);
    return { bin: process.env.FERRUM_LLAMA_BENCH, commit: 'unknown (FERRUM_LLAMA_BENCH)' };
  }
  const commit = bundleCommit(repoRoot);
  if (!commit) throw new LlamaBenchError(`no ${bundlePath(repoRoot)}: npm install node-llama-cpp (a devDependency), or set FERRUM_LLAMA_BENCH`);
  const dir = join(CACHE, commit.slice(0, 12));
  const src = join(dir, 'llama.cpp');
  const bin = join(src, 'build/bin/llama-bench');
  if (existsSync(bin)) return { bin, commit };

  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(src, 'CMakeLists.txt'))) {
    log(`bench-vs-llamacpp: cloning llama.cpp ${commit.slice(0, 12)} from node-llama-cpp's bundle into ${src}`);
    const tmp = `${src}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    run('git', ['clone', '-q', bundlePath(repoRoot), tmp]);
    run('git', ['-c', 'advice.detachedHead=false', '-C', tmp, 'checkout', '-q', commit]);
    renameSync(tmp, src);
  }
  log(`bench-vs-llamacpp: building llama-bench (Release, GGML_NATIVE=ON, -j${jobs}); this takes minutes the first time`);
  const t0 = Date.now();
  run('cmake', ['-B', 'build', '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON', '-DLLAMA_CURL=OFF',
    '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_SERVER=OFF'], { cwd: src, stdio: ['ignore', 'ignore', 'inherit'] });
  run('cmake', ['--build', 'build', '--target', 'llama-bench', `-j${jobs}`], { cwd: src, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(bin)) throw new LlamaBenchError(`the build finished but ${bin} is missing`);
  log(`bench-vs-llamacpp: built ${bin} in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  return { bin, commit };
}
