import { setPriority as setNice } from 'node:os';
import { UserError } from '../cli/user-error.js';

/**
 * llama-bench's --prio levels (ggml_sched_priority: low, normal, medium,
 * high, realtime) and the nice value llama.cpp's set_process_priority gives
 * each on POSIX. ferrum sets only the nice value; llama-bench's thread pool
 * also asks for real-time scheduling at the higher levels.
 */
export const PRIORITY_LEVELS: readonly number[] = [-1, 0, 1, 2, 3];
const NICE: Readonly<Record<number, number>> = { [-1]: 5, 0: 0, 1: -5, 2: -10, 3: -20 };

/**
 * Set before the engine starts its worker threads: on Linux a nice value
 * belongs to one thread, and threads inherit their creator's.
 * `setNiceValue` is os.setPriority for the calling thread; tests pass their own.
 */
export function setPriority(level: number, setNiceValue: (nice: number) => void = setNice): void {
  const nice = NICE[level];
  if (nice === undefined) throw new UserError(`--prio ${level}: expected one of ${PRIORITY_LEVELS.join(', ')}`);
  if (nice === 0) return;
  try {
    setNiceValue(nice);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UserError(`--prio ${level}: could not set the process's nice value to ${nice} (${code}); a priority above normal needs root or CAP_SYS_NICE`);
  }
}
