import { CPU_VARIANTS, type CpuVariant, isCpuVariant } from '../backend/cpu-variants.js';
import type { ExecutorKind } from '../backend/native-lib.js';
import { UserError } from '../cli/user-error.js';

/** The FERRUM_* environment flags, read and checked in one place. */
export interface ProfileEnv {
  /** FERRUM_PROFILE=1: per-op time table after the run (eager, sync after each op). */
  readonly profile: boolean;
  /** FERRUM_TRACE=out.json: Chrome trace-event file of every op of every step. */
  readonly trace: string | undefined;
  /** FERRUM_DEBUG_SYNC=1: one op per call, synced, so a failure names its op. */
  readonly debugSync: boolean;
  /** FERRUM_BACKEND=cpu|metal: default backend. */
  readonly backend: ExecutorKind | undefined;
  /** FERRUM_THREADS=N: default thread count. */
  readonly threads: number | undefined;
  /** FERRUM_REPACK=0: keep the file's weight layouts on the CPU (default: repack where faster). */
  readonly repack: boolean;
  /** FERRUM_CPU=avx512|avx2|native|portable: force that build of the CPU library (default: the best this CPU runs). */
  readonly cpu: CpuVariant | undefined;
}

const on = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

export function readProfileEnv(env: NodeJS.ProcessEnv = process.env): ProfileEnv {
  const backend = env.FERRUM_BACKEND;
  if (backend !== undefined && backend !== '' && backend !== 'cpu' && backend !== 'metal') {
    throw new UserError(`FERRUM_BACKEND must be cpu or metal (got "${backend}")`);
  }
  const threadsRaw = env.FERRUM_THREADS;
  let threads: number | undefined;
  if (threadsRaw !== undefined && threadsRaw !== '') {
    threads = Number(threadsRaw);
    if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw new UserError(`FERRUM_THREADS must be a whole number from 1 to 1024 (got "${threadsRaw}")`);
  }
  const cpu = env.FERRUM_CPU;
  if (cpu !== undefined && cpu !== '' && !isCpuVariant(cpu)) {
    throw new UserError(`FERRUM_CPU must be one of ${CPU_VARIANTS.join(', ')} (got "${cpu}")`);
  }
  return {
    profile: on(env.FERRUM_PROFILE),
    trace: env.FERRUM_TRACE || undefined,
    debugSync: on(env.FERRUM_DEBUG_SYNC),
    backend: backend === 'cpu' || backend === 'metal' ? backend : undefined,
    threads,
    repack: env.FERRUM_REPACK === undefined || env.FERRUM_REPACK === '' || on(env.FERRUM_REPACK),
    cpu: cpu !== undefined && isCpuVariant(cpu) ? cpu : undefined,
  };
}

/** Whether ops must run one per call (profiling, tracing, debugging). */
export function needsEager(env: ProfileEnv): boolean {
  return env.profile || env.trace !== undefined || env.debugSync;
}
