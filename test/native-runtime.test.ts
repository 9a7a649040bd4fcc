import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtCpuVariants, cpuLibraryPath } from '../src/backend/cpu-library.js';
import type { CpuVariant } from '../src/backend/cpu-variants.js';
import { cCompiler } from './helpers/cc.js';
import { IS_CI, REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

const cc = cCompiler();
const LIB_DIR = join(REPO_ROOT, 'build/native');

/** node-llama-cpp's prebuilt ggml: the AVX2 CPU variant it loads on x86-64 machines without AVX-512. */
const GGML_BINS = join(REPO_ROOT, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64');
const GGML_LIBS = [join(GGML_BINS, 'libggml-base.so'), join(GGML_BINS, 'libggml-cpu-haswell.so')];

function ggmlParityAvailable(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  if (!GGML_LIBS.every(existsSync)) {
    if (IS_CI) throw new Error(`CI=true but ${GGML_BINS} is missing: install devDependencies (node-llama-cpp)`);
    console.warn(`skipping ggml parity: ${GGML_BINS} is absent`);
    return false;
  }
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
  return ['avx2', 'fma', 'f16c', 'bmi2'].every((f) => flags.includes(f));
}

/** ggml's zen4 build (AVX-512 BF16), the peer of ferrum's avx512bf16 variant for BF16 weights. */
const GGML_ZEN4_LIBS = [join(GGML_BINS, 'libggml-base.so'), join(GGML_BINS, 'libggml-cpu-zen4.so')];

/** Why the BF16 parity check cannot run here, or undefined when it can. */
function bf16ParitySkip(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `node-llama-cpp's linux-x64 ggml cannot run on ${process.platform}-${process.arch}`;
  if (!GGML_ZEN4_LIBS.every(existsSync)) {
    if (IS_CI) throw new Error(`CI=true but ${GGML_ZEN4_LIBS.join(' / ')} is missing: install devDependencies (node-llama-cpp)`);
    return `${GGML_BINS} lacks libggml-cpu-zen4.so`;
  }
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
  // hardware, not setup: a CI machine without AVX-512 BF16 cannot run either side
  if (!flags.includes('avx512_bf16')) return 'this CPU has no AVX-512 BF16 (vdpbf16ps): neither ggml\'s zen4 build nor the avx512bf16 variant runs here';
  return undefined;
}

/** Compile one C driver against one variant of libferrum_cpu (plus extra inputs) and run it; returns its stdout. */
function compileAndRunDriver(
  source: string,
  variant: CpuVariant,
  extra: readonly string[] = [],
  rpath: readonly string[] = [],
  args: readonly string[] = [],
): string {
  const exe = join(tempDir('native'), `${source.replace(/\.c$/, '')}_${variant}`);
  const compile = spawnSync(cc!, [
    '-std=c11', '-O2', '-Wall', '-Wextra', '-o', exe, join(REPO_ROOT, 'test/native', source),
    cpuLibraryPath(variant), ...extra, `-Wl,-rpath,${[LIB_DIR, ...rpath].join(':')}`, '-lm',
  ], { encoding: 'utf8' });
  expect(compile.status, compile.stderr).toBe(0);
  expect(compile.stderr).toBe('');
  const run = spawnSync(exe, args, { encoding: 'utf8', timeout: 60_000 });
  expect(run.stdout.split('\n').filter((l) => l.startsWith('FAIL')), run.stdout + run.stderr).toEqual([]);
  expect(run.status, run.stdout + run.stderr).toBe(0);
  return run.stdout;
}

function summary(stdout: string): { passed: number; failed: number } {
  const m = /(\d+) passed, (\d+) failed/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return { passed: Number(m![1]), failed: Number(m![2]) };
}

describe.skipIf(!cc)('native CPU runtime', () => {
  beforeAll(() => {
    const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/build-native.mjs')], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^build-native: /);
  });

  /* every op against a double-precision reference, plans against eager
   * dispatch, and every error path (test/native/runtime_check.c), in every
   * variant this CPU runs: each has its own SIMD paths */
  it('passes its C runtime checks in every variant this CPU runs', () => {
    const runnable = builtCpuVariants().filter((b) => b.probe.supported);
    expect(runnable.map((b) => b.variant)).toContain('portable');
    for (const { variant } of runnable) {
      const out = compileAndRunDriver('runtime_check.c', variant);
      expect(out).toMatch(new RegExp(`^device: cpu ${variant} `, 'm'));
      const s = summary(out);
      expect(s.failed, variant).toBe(0);
      expect(s.passed, variant).toBeGreaterThan(150);
    }
  });

  /* scripts/step-profile.mjs's build: every plan replay timed op by op,
   * steps alternating A/B, a table on stderr at exit; the runtime checks
   * still pass with it (a plain -O1 build, to keep the compile short) */
  it('builds with FR_PLAN_PROFILE, passes its checks and reports every replayed step', () => {
    const dir = tempDir('profile');
    const src = join(REPO_ROOT, 'native-shim/cpu');
    const files = [src, join(src, 'quants')].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.c')).map((f) => join(d, f)));
    const lib = join(dir, 'libferrum_cpu-profile.so');
    const build = spawnSync(cc!, ['-std=c11', '-O1', '-fPIC', '-shared', '-pthread', '-fvisibility=hidden', '-Wall', '-Wextra',
      '-DFR_PLAN_PROFILE', '-DFR_CPU_VARIANT="profile"', '-I', join(REPO_ROOT, 'native-shim/include'), '-I', src,
      '-o', lib, ...files, '-lm'], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    expect(build.stderr).toBe('');
    const exe = join(dir, 'runtime_check');
    const compile = spawnSync(cc!, ['-std=c11', '-O1', '-o', exe, join(REPO_ROOT, 'test/native/runtime_check.c'), lib,
      `-Wl,-rpath,${dir}`, '-lm'], { encoding: 'utf8' });
    expect(compile.status, compile.stderr).toBe(0);
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(summary(run.stdout).failed).toBe(0);
    const table = run.stderr.slice(run.stderr.indexOf('step profile'));
    expect(table, run.stderr).toMatch(/^step profile \(FR_PLAN_PROFILE\): [1-9]\d* steps A \(even\), [1-9]\d* B \(odd\)/);
    /* a grouped mul_mat row: its weight MB, us for A and B, calls a step, GB/s */
    expect(table).toMatch(/^mul_mat_\S+ \+\d grouped [\d.]+ MB\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
    expect(table).toMatch(/^step\s+[\d.]+\s+[\d.]+\s+B\/A \d+\.\d{4}$/m);
  });

  /* the same inputs through node-llama-cpp's own ggml CPU backend: bit for
   * bit where ferrum mirrors ggml's rounding (test/native/ggml_parity.c).
   * Against the avx2 variant: the peer is ggml's AVX2 (haswell) build. The
   * avx512 variant keeps that build's float summation order with 16-lane
   * code in places (attention), so it must match it as well, where this
   * CPU runs it. */
  it.skipIf(!ggmlParityAvailable())('matches the peer ggml CPU backend', () => {
    if (!existsSync(cpuLibraryPath('avx2'))) throw new Error('this CPU has AVX2/FMA/F16C but build-native did not build the avx2 variant');
    const variants: CpuVariant[] = ['avx2'];
    if (builtCpuVariants().some((b) => b.variant === 'avx512' && b.probe.supported)) variants.push('avx512');
    for (const variant of variants) {
      const s = summary(compileAndRunDriver('ggml_parity.c', variant, GGML_LIBS, [GGML_BINS]));
      expect(s.failed, variant).toBe(0);
      expect(s.passed, variant).toBeGreaterThan(30);
    }
  });

  /* BF16 weights through vdpbf16ps: the avx512bf16 variant against ggml's
   * zen4 build, bit for bit (vec_dot for one token, tinyBLAS's 32-step for
   * more, vec_dot again off that step) */
  const bf16Skip = bf16ParitySkip();
  if (bf16Skip) console.warn(`skipping BF16 parity with ggml's zen4 build: ${bf16Skip}`);
  it.skipIf(bf16Skip !== undefined)('matches ggml\'s zen4 build on BF16 weights (avx512bf16 variant)', () => {
    if (!existsSync(cpuLibraryPath('avx512bf16'))) throw new Error('this CPU has AVX-512 BF16 but build-native did not build the avx512bf16 variant');
    const s = summary(compileAndRunDriver('ggml_parity.c', 'avx512bf16', GGML_ZEN4_LIBS, [GGML_BINS], ['bf16']));
    expect(s.failed).toBe(0);
    expect(s.passed).toBeGreaterThanOrEqual(18);
  });
});
