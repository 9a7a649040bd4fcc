import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtCpuVariants, chooseCpuLibrary, cpuLibraryPath, probeCpuLibrary } from '../src/backend/cpu-library.js';
import { archVariants, CPU_VARIANTS } from '../src/backend/cpu-variants.js';
import { readProfileEnv } from '../src/profile/env.js';
import { cCompiler } from './helpers/cc.js';
import { ferrum } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/shared.js';

/**
 * The CPU library's per-ISA builds and how one is chosen. Which variants a
 * machine runs differs, so everything is checked against what each
 * library's fr_cpu_supported() says here, never against a named CPU.
 * (engine-cpu-variants.test.ts runs the engine on each against llama.cpp.)
 */

function buildNative(env: NodeJS.ProcessEnv): { variants: string[]; line: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/build-native.mjs')], {
    encoding: 'utf8', env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('build-native: ')) ?? '';
  const m = /libferrum_cpu-\{([^}]+)\}\.(?:so|dylib)/.exec(line);
  expect(m, r.stdout).not.toBeNull();
  return { variants: m![1]!.split(','), line };
}

const cc = cCompiler();
/** Tiny model in the repo: CLI runs need no ../shared. */
const MODEL = join(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf');

describe.skipIf(!cc)('CPU library variants', () => {
  let all: { variants: string[]; line: string };
  let host: { variants: string[]; line: string };
  beforeAll(() => {
    // every variant the compiler accepts, so the ones this CPU lacks exist to be refused
    all = buildNative({ FERRUM_CPU_VARIANTS: 'all' });
    host = buildNative({ FERRUM_CPU_VARIANTS: '' });
  });

  it('FERRUM_CPU_VARIANTS=all builds every variant of the architecture (or says which the compiler rejects)', () => {
    for (const v of archVariants()) {
      if (all.variants.includes(v)) expect(existsSync(cpuLibraryPath(v)), v).toBe(true);
      else expect(all.line, v).toMatch(new RegExp(`${v} skipped \\(.* rejects`));
    }
    expect(all.variants).toContain('portable');
  });

  it('each library names its variant; portable runs anywhere', () => {
    for (const b of builtCpuVariants()) expect(b.probe.variant).toBe(b.variant);
    expect(probeCpuLibrary(cpuLibraryPath('portable'))).toEqual({ supported: true, variant: 'portable' });
  });

  it('a default build makes portable and exactly the variants this CPU runs', () => {
    expect(host.variants[0]).toBe('portable');
    for (const b of builtCpuVariants().filter((x) => all.variants.includes(x.variant))) {
      expect(host.variants.includes(b.variant), `${b.variant}: fr_cpu_supported() = ${Number(b.probe.supported)}`).toBe(b.probe.supported);
    }
  });

  it('the loader takes the best built variant this CPU runs, or the one FERRUM_CPU names', () => {
    const best = builtCpuVariants().find((b) => b.probe.supported)!;
    console.log(`CPU variants here: ${builtCpuVariants().map((b) => `${b.variant}${b.probe.supported ? '' : ' (unsupported)'}`).join(', ')}; default ${best.variant}`);
    expect(chooseCpuLibrary(undefined)).toBe(best.path);
    expect(chooseCpuLibrary('portable')).toBe(cpuLibraryPath('portable'));
  });

  it('FERRUM_CPU is checked with the other FERRUM_* flags', () => {
    expect(readProfileEnv({}).cpu).toBeUndefined();
    expect(readProfileEnv({ FERRUM_CPU: '' }).cpu).toBeUndefined();
    for (const v of CPU_VARIANTS) expect(readProfileEnv({ FERRUM_CPU: v }).cpu).toBe(v);
    expect(() => readProfileEnv({ FERRUM_CPU: 'avx3' })).toThrow('FERRUM_CPU must be one of avx512bf16, avx512, avx2, native, portable (got "avx3")');
  });

  describe('from the CLI', () => {
    const oneLine = (env: NodeJS.ProcessEnv, want: RegExp): void => {
      const r = ferrum(['run', MODEL, 'hi', '-n', '2'], { env });
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    };

    it('an unknown FERRUM_CPU: one line listing the valid ones', () => {
      oneLine({ FERRUM_CPU: 'bogus' }, /FERRUM_CPU must be one of avx512bf16, avx512, avx2, native, portable \(got "bogus"\)/);
    });

    it('a variant this CPU lacks: one line saying what it needs', () => {
      const lacking = builtCpuVariants().filter((b) => !b.probe.supported);
      if (lacking.length === 0) console.warn('skipping the "CPU lacks it" check: this CPU runs every variant built here');
      for (const b of lacking) oneLine({ FERRUM_CPU: b.variant }, new RegExp(`FERRUM_CPU=${b.variant}: this CPU lacks ${b.variant} \\(needs `));
    });

    it('a variant not built: one line with the command that builds it', () => {
      const missing = CPU_VARIANTS.filter((v) => !existsSync(cpuLibraryPath(v)));
      if (missing.length === 0) console.warn('skipping the "not built" check: every variant is built here');
      for (const v of missing) oneLine({ FERRUM_CPU: v }, new RegExp(`FERRUM_CPU=${v}: .*libferrum_cpu-${v}\\.\\w+ is not built; run \`FERRUM_CPU_VARIANTS=\\w+ npm run build:native\``));
    });

    it('each variant this CPU runs can be forced, and the device name says which ran', () => {
      for (const b of builtCpuVariants().filter((x) => x.probe.supported)) {
        const r = ferrum(['run', MODEL, 'The old prince', '-n', '4', '--temp', '0', '--verbose'], { env: { FERRUM_CPU: b.variant } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`^backend\\s+cpu ${b.variant} \\(`, 'm'));
      }
    });

    it('ferrum bench names the variant in its footer; the JSON backends field stays llama-bench\'s "CPU"', () => {
      const r = ferrum(['bench', MODEL, '-p', '8', '-n', '2', '-r', '1', '-o', 'json'], { env: { FERRUM_CPU: 'portable' } });
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as Array<{ backends: string }>;
      expect(rows.map((x) => x.backends)).toEqual(['CPU', 'CPU']);
      const md = ferrum(['bench', MODEL, '-p', '8', '-n', '0', '-r', '1'], { env: { FERRUM_CPU: 'portable' } });
      expect(md.code, md.stderr).toBe(0);
      expect(md.stdout).toMatch(/^build: .*\(cpu portable \(/m);
    });
  });

  /* variants forced by name must exist in the build script's table too */
  it('the build script knows every variant the loader does', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/build-native.mjs')], {
      encoding: 'utf8', env: { ...process.env, FERRUM_CPU_VARIANTS: 'nope' },
    });
    expect(r.status).toBe(1);
    const known = /comma list of ([\w, ]+)\)/.exec(r.stderr)?.[1]?.split(', ') ?? [];
    expect([...known].sort()).toEqual([...CPU_VARIANTS].sort());
  });
});
