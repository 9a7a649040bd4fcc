import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cCompiler } from './helpers/cc.js';
import { IS_CI, REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

/*
 * The CPU quant kernels (native-shim/cpu/quants) against ggml itself:
 * test/native/quants_check.c dlopens node-llama-cpp's prebuilt ggml and
 * compares dequantization and activation quantization bit for bit, and dot
 * products to 1e-5, for every type ferrum computes with.
 *
 * The AVX-512 kernels (x86_avx512_r8.c, x86_r8_q0.c's VNNI steps, fp.c's
 * eight-row float tiles) are checked on machines without AVX-512 too: built
 * for x86-64-v3 with -DFR_SIMDE_AVX512, SIMDe (header-only, Debian's
 * libsimde-dev) emulates every AVX-512 instruction.
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

/**
 * The SIMDe headers: the `simde` directory itself ($SIMDE_INCLUDE, else
 * /usr/include/simde); returns the -I flags that reach it, or undefined
 * (skip) where it is absent — except under CI=true, where .ci/run installs it.
 */
function simdeFlags(): string[] | undefined {
  const dir = process.env.SIMDE_INCLUDE ?? '/usr/include/simde';
  if (existsSync(join(dir, 'x86/avx512.h'))) return process.env.SIMDE_INCLUDE ? ['-I', dirname(dir)] : [];
  if (IS_CI) throw new Error(`CI=true but SIMDe is missing (${dir}/x86/avx512.h): apt-get install libsimde-dev, or set SIMDE_INCLUDE`);
  console.warn(`skipping AVX-512 kernels under SIMDe: ${dir} is absent (apt-get install libsimde-dev, or set SIMDE_INCLUDE to a simde/ directory)`);
  return undefined;
}

const simde = libs ? simdeFlags() : undefined;

/**
 * Run the C compiler without blocking: builds here take up to a minute or
 * two on a loaded two-core machine (SIMDe's emulation most), and a worker
 * blocked that long misses vitest's 60 s progress RPC.
 */
function ccAsync(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cc!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ status: -1, stdout, stderr: stderr + String(e) }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Build quants_check.c with the kernels under `flags`, run it, return its stdout. */
async function runChecker(tag: string, flags: readonly string[]): Promise<string> {
  const exe = join(tempDir('quants'), `quants_check_${tag}`);
  const sources = readdirSync(QUANTS_DIR).filter((f) => f.endsWith('.c')).map((f) => join(QUANTS_DIR, f));
  const compile = await ccAsync([
    '-std=c11', ...flags, '-Wall', '-Wextra', '-o', exe,
    join(REPO_ROOT, 'test/native/quants_check.c'), ...sources, '-ldl', '-lm',
  ]);
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
  it('match ggml when built as shipped (-O3 -march=native)', async () => {
    await runChecker('native', ['-O3', '-march=native']);
  });

  // a baseline x86-64 build: the portable half conversions
  it('match ggml when built portable (-O2)', async () => {
    await runChecker('portable', ['-O2']);
  });

  // repacked layouts: the AVX2 kernel and the portable one give the same bits
  it('repacked (r8) kernels agree bit for bit between the AVX2 and portable builds', async () => {
    const bits = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('r8 '));
    const native = bits(await runChecker('native-r8', ['-O3', '-march=native']));
    expect(native.length).toBeGreaterThanOrEqual(1);
    expect(bits(await runChecker('portable-r8', ['-O2']))).toEqual(native);
    // Q4_K rows too long to spread their scales once per call (FRQ_Q4_K_SM_BLOCKS) spread them
    // per block: forced here on the checker's 4096-column rows, the same bits
    expect(bits(await runChecker('native-r8-long-rows', ['-O3', '-march=native', '-DFRQ_Q4_K_SM_BLOCKS=8']))).toEqual(native);
  });

  // the AVX-512 VNNI kernels, which this CPU may not run: built for AVX2
  // (x86-64-v3) whatever the CPU, so SIMDe emulates every AVX-512
  // instruction (x86_simd.h fills what SIMDe 0.7 lacks) on every machine
  // with AVX2; -Wno-psabi: SIMDe's emulated 512-bit types passed by value
  // draw GCC's ABI-change note, moot inside one binary
  it.skipIf(!simde)('AVX-512 VNNI kernels (under SIMDe) agree bit for bit with the portable build', async () => {
    const bits = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('r8 '));
    const out = await runChecker('simde-avx512', ['-O3', '-march=x86-64-v3', '-Wno-psabi', '-DFR_SIMDE_AVX512', ...simde!]);
    // the eight-row float tiles ran against gemm_dot, bit for bit (checker FAILs otherwise)
    expect(out.split('\n').filter((l) => / gemm_dot_tile8 ok /.test(l)).map((l) => l.split(/\s+/)[0])).toEqual(['f32', 'f16', 'bf16']);
    const avx512 = bits(out);
    expect(avx512.length).toBeGreaterThanOrEqual(4);
    // the sixteen-row prefill kernels ran against gemm, bit for bit (checker FAILs otherwise)
    expect(out.split('\n').filter((l) => l.startsWith('r8-gemm2 '))).toEqual(['r8-gemm2 q4_0', 'r8-gemm2 q8_0', 'r8-gemm2 q4_K', 'r8-gemm2 q6_K']);
    expect(bits(await runChecker('portable-r8-vs-avx512', ['-O2']))).toEqual(avx512);
  }, 300_000); // emulated AVX-512 compiles slowly: ~30 s on an idle two-core machine
});

/*
 * The AVX-512 kernels as the library's avx512 variant compiles them: the
 * real flags need no AVX-512 hardware to compile with, and the output must
 * hold the four gemm entry points and use vpdpbusd (FR_QUANTS_AVX512 on).
 */
const X86_V4 = ['-std=c11', '-O3', '-march=x86-64-v4', '-mavx512vnni'];
describe.skipIf(!cc || process.arch !== 'x64')('AVX-512 r8 kernels compile for x86-64-v4 + VNNI', () => {
  it.each([
    ['x86_avx512_r8.c', ['fr_gemm_q4_K_r8_q8_K', 'fr_gemm_q6_K_r8_q8_K', 'fr_gemm2_q4_K_r8_q8_K', 'fr_gemm2_q6_K_r8_q8_K']],
    ['x86_r8_q0.c', ['fr_gemm_q4_0_r8_q8_0', 'fr_gemm_q8_0_r8_q8_0', 'fr_gemm2_q4_0_r8_q8_0', 'fr_gemm2_q8_0_r8_q8_0']],
  ])('%s', async (file, fns) => {
    const dir = tempDir('quants-v4');
    const src = join(QUANTS_DIR, file);
    const obj = await ccAsync([...X86_V4, '-Wall', '-Wextra', '-c', '-o', join(dir, 'k.o'), src]);
    expect(obj.status, obj.stderr).toBe(0);
    expect(obj.stderr, 'the kernels must compile without warnings').toBe('');
    const asm = await ccAsync([...X86_V4, '-S', '-o', '-', src]);
    expect(asm.status, asm.stderr).toBe(0);
    for (const fn of fns) expect(asm.stdout).toMatch(new RegExp(`^${fn}:`, 'm'));
    expect(asm.stdout).toMatch(/\bvpdpbusd\b/);
  });

  // the whole quants library in that variant links: each r8 gemm is
  // defined once (the AVX2 ones compile to nothing there)
  it('links with the AVX2 and portable kernels of the same build', async () => {
    const sources = readdirSync(QUANTS_DIR).filter((f) => f.endsWith('.c')).map((f) => join(QUANTS_DIR, f));
    const exe = join(tempDir('quants-v4'), 'quants_check_v4');
    const r = await ccAsync([...X86_V4, '-Wall', '-Wextra', '-o', exe, join(REPO_ROOT, 'test/native/quants_check.c'), ...sources, '-ldl', '-lm']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr, 'the kernels must compile without warnings').toBe('');
  });
});
