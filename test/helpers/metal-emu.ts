import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { IS_CI, REPO_ROOT } from './shared.js';

/**
 * The MSL emulator executor (tools/metal-emu): builds
 * build/metal-emu/libferrum_metalemu.so and points FERRUM_METAL_LIB at it, so
 * Device.open('metal') runs the real metal/*.metal kernels on this CPU.
 * Returns undefined (the caller skips, with a message) when clang++ is
 * missing; under CI=true a missing clang++ is a failure.
 */
export const METAL_EMU_LIB = resolve(REPO_ROOT, 'build/metal-emu/libferrum_metalemu.so');

export function metalEmuLibrary(): string | undefined {
  const cxx = process.env.FERRUM_EMU_CXX ?? 'clang++';
  const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const msg = `${cxx} is missing: the Metal emulator compiles metal/*.metal with it (apt-get install clang)`;
    if (IS_CI) throw new Error(`CI=true but ${msg}`);
    console.warn(`skipping: ${msg}`);
    return undefined;
  }
  const r = spawnSync(process.execPath, [resolve(REPO_ROOT, 'scripts/build-metal-emu.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-metal-emu failed:\n${r.stderr}`);
  process.env.FERRUM_METAL_LIB = METAL_EMU_LIB;
  return METAL_EMU_LIB;
}
