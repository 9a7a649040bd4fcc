import { spawnSync } from 'node:child_process';
import { IS_CI } from './shared.js';

/** The system C compiler, or undefined (tests skip) — except under CI=true, where its absence fails. */
export function cCompiler(): string | undefined {
  const cc = process.env.CC ?? 'cc';
  const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return cc;
  if (IS_CI) throw new Error(`CI=true but no C compiler (${cc}) is available`);
  console.warn(`skipping: no C compiler (${cc})`);
  return undefined;
}

/** Compile and run a C program; returns its stdout, throws with the compiler's message on failure. */
export function compileAndRun(cc: string, source: string, out: string, flags: readonly string[] = []): string {
  const c = spawnSync(cc, ['-x', 'c', '-std=c11', '-Wall', '-o', out, '-', ...flags], { input: source, encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`cc failed:\n${c.stderr}`);
  const r = spawnSync(out, [], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${out} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
