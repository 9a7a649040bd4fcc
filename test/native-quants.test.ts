import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cCompiler } from './helpers/cc.js';
import { IS_CI, REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

/*
 * The CPU quant kernels (native-shim/cpu/quants) against ggml itself:
 * test/native/quants_check.c dlopens node-llama-cpp's prebuilt ggml and
 * compares dequantization and activation quantization bit for bit, and dot
 * products to 1e-5, for every type ferrum computes with.
 */

const cc = cCompiler();
const GGML_BINS = join(REPO_ROOT, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64');
const GGML_BASE = join(GGML_BINS, 'libggml-base.so');
const QUANTS_DIR = join(REPO_ROOT, 'native-shim/cpu/quants');

/** libggml-base.so and every libggml-cpu-<variant>.so, or undefined (skip) when they cannot be used here. */
function ggmlLibraries(): string[] | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.warn(`skipping quant kernels vs ggml: node-llama-cpp's linux-x64 prebuilt cannot run on ${process.platform}-${process.arch}`);
    return undefined;
  }
  const variants = existsSync(GGML_BINS) ? readdirSync(GGML_BINS).filter((f) => /^libggml-cpu-.+\.so$/.test(f)) : [];
  if (!existsSync(GGML_BASE) || variants.length === 0) {
    if (IS_CI) throw new Error(`CI=true but ${GGML_BINS} lacks libggml-base.so / libggml-cpu-*.so: install devDependencies (node-llama-cpp)`);
    console.warn(`skipping quant kernels vs ggml: ${GGML_BINS} is absent (node-llama-cpp's linux-x64 prebuilt is needed to compare with ggml)`);
    return undefined;
  }
  // the checker keeps the variant ggml's own loader would pick (highest ggml_backend_score)
  return [GGML_BASE, ...variants.sort().map((f) => join(GGML_BINS, f))];
}

const libs = cc ? ggmlLibraries() : undefined;

/** Build quants_check.c with the kernels under `flags`, run it, return its stdout. */
function runChecker(tag: string, flags: readonly string[]): string {
  const exe = join(tempDir('quants'), `quants_check_${tag}`);
  const sources = readdirSync(QUANTS_DIR).filter((f) => f.endsWith('.c')).map((f) => join(QUANTS_DIR, f));
  const compile = spawnSync(cc!, [
    '-std=c11', ...flags, '-Wall', '-Wextra', '-o', exe,
    join(REPO_ROOT, 'test/native/quants_check.c'), ...sources, '-ldl', '-lm',
  ], { encoding: 'utf8' });
  expect(compile.status, compile.stderr).toBe(0);
  expect(compile.stderr, 'the kernels must compile without warnings').toBe('');
  const run = spawnSync(exe, libs!, { encoding: 'utf8', timeout: 60_000 });
  const output = run.stdout + run.stderr;
  expect(output).toMatch(/^ggml-cpu variant: libggml-cpu-\S+\.so/m);
  expect(output.split('\n').filter((l) => / FAIL /.test(l)), output).toEqual([]);
  const m = /^(\d+) passed, (\d+) failed$/m.exec(run.stdout);
  expect(m, output).not.toBeNull();
  expect(Number(m![2]), output).toBe(0);
  expect(Number(m![1]), output).toBeGreaterThanOrEqual(59);
  expect(run.status, output).toBe(0);
  return run.stdout;
}

describe.skipIf(!cc || !libs)('CPU quant kernels vs ggml', () => {
  // the flags scripts/build-native.mjs ships with: -march=native takes the
  // F16C scale conversions and lets GCC fuse what the FP-contract pragma
  // must stop
  it('match ggml when built as shipped (-O3 -march=native)', () => {
    runChecker('native', ['-O3', '-march=native']);
  });

  // a baseline x86-64 build: the portable half conversions
  it('match ggml when built portable (-O2)', () => {
    runChecker('portable', ['-O2']);
  });

  // repacked layouts: the AVX2 kernel and the portable one give the same bits
  it('repacked (r8) kernels agree bit for bit between the AVX2 and portable builds', () => {
    const bits = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('r8 '));
    const native = bits(runChecker('native-r8', ['-O3', '-march=native']));
    expect(native.length).toBeGreaterThanOrEqual(1);
    expect(bits(runChecker('portable-r8', ['-O2']))).toEqual(native);
  });
});
