import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { close, DataType, define, open } from 'ffi-rs';
import { UserError } from '../cli/user-error.js';
import { archVariants, CPU_VARIANT_NEEDS, CPU_VARIANTS, type CpuVariant } from './cpu-variants.js';

/** build/native under the package root (dist/backend/ → ../../). */
const BUILD_DIR = fileURLToPath(new URL('../../build/native/', import.meta.url));

export function cpuLibraryPath(variant: CpuVariant): string {
  return `${BUILD_DIR}libferrum_cpu-${variant}.${process.platform === 'darwin' ? 'dylib' : 'so'}`;
}

/** What a built library says of itself (ferrum_cpu.h). */
export interface CpuLibraryProbe {
  /** fr_cpu_supported(): this CPU has every feature the library was compiled for. */
  readonly supported: boolean;
  /** fr_cpu_variant(): the name the build gave it. */
  readonly variant: string;
}

const probes = new Map<string, CpuLibraryProbe>();

/**
 * Ask a built library whether it runs here. Only the check itself runs
 * (it is compiled for the baseline ISA), so this is safe on any CPU.
 */
export function probeCpuLibrary(path: string): CpuLibraryProbe {
  const hit = probes.get(path);
  if (hit) return hit;
  const library = `ferrum_cpu_probe_${probes.size}`;
  let probe: CpuLibraryProbe;
  try {
    open({ library, path });
    const fns = define({
      fr_cpu_supported: { library, retType: DataType.I32, paramsType: [] },
      fr_cpu_variant: { library, retType: DataType.String, paramsType: [] },
    });
    probe = { supported: fns.fr_cpu_supported([]) === 1, variant: fns.fr_cpu_variant([]) };
    close(library);
  } catch (e) {
    throw new UserError(`cannot load ${path}: ${(e as Error).message}; rebuild it with \`npm run build:native\``);
  }
  probes.set(path, probe);
  return probe;
}

/** The command that builds `variant` (a default build makes only what this CPU runs). */
export function buildCommandFor(variant: CpuVariant): string {
  return `FERRUM_CPU_VARIANTS=${archVariants().includes(variant) ? 'all' : variant} npm run build:native`;
}

/** The variants built and whether each runs here, best first. */
export function builtCpuVariants(): Array<{ variant: CpuVariant; path: string; probe: CpuLibraryProbe }> {
  return CPU_VARIANTS.map((variant) => ({ variant, path: cpuLibraryPath(variant) }))
    .filter(({ path }) => existsSync(path))
    .map(({ variant, path }) => ({ variant, path, probe: probeCpuLibrary(path) }));
}

/**
 * The CPU library to load: `forced` (FERRUM_CPU) when it is built and this
 * CPU runs it, else the best built variant this CPU runs. Every way it can
 * fail is the user's to fix with one command, so each is a UserError.
 */
export function chooseCpuLibrary(forced: CpuVariant | undefined): string {
  if (forced) {
    const path = cpuLibraryPath(forced);
    if (!existsSync(path)) {
      throw new UserError(`FERRUM_CPU=${forced}: ${path} is not built; run \`${buildCommandFor(forced)}\` in the ferrum directory`);
    }
    if (!probeCpuLibrary(path).supported) {
      throw new UserError(`FERRUM_CPU=${forced}: this CPU lacks ${forced} (needs ${CPU_VARIANT_NEEDS[forced]}); unset FERRUM_CPU to use the best variant it runs`);
    }
    return path;
  }
  const built = builtCpuVariants();
  const best = built.find((b) => b.probe.supported);
  if (best) return best.path;
  if (built.length === 0) {
    throw new UserError(`the native CPU library is not built (${cpuLibraryPath('portable')}); run \`npm run build:native\` in the ferrum directory`);
  }
  throw new UserError(`no built CPU library runs on this CPU (${built.map((b) => b.variant).join(', ')}); run \`npm run build:native\` in the ferrum directory`);
}
