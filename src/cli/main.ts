import chalk from 'chalk';
import { Command, CommanderError } from 'commander';
import { GgufError } from '../gguf/errors.js';
import { configureColor } from './color.js';
import { registerBench } from './commands/bench.js';
import { registerInspect } from './commands/inspect.js';
import { registerRun } from './commands/run.js';
import { translateLlamaBenchFlags } from './llama-bench-flags.js';
import { UserError } from './user-error.js';
import { VERSION } from './version.js';

/** Any failure ends as one line on stderr and a non-zero exit; a stack only under FERRUM_DEBUG=1. */
function fail(err: unknown): never {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const known = err instanceof UserError || err instanceof GgufError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${chalk.red('ferrum:')} ${known ? '' : 'internal error: '}${message.split('\n')[0]}\n`);
  if (process.env.FERRUM_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof UserError ? err.exitCode : 1);
}

export async function main(argv: readonly string[]): Promise<void> {
  configureColor(argv);
  const program = new Command('ferrum')
    .description('run GGUF language models: Metal on Apple Silicon, a fast CPU backend everywhere')
    .version(VERSION)
    .option('--no-color', 'no colours in output (also NO_COLOR=1)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerRun(program);
  registerBench(program);
  registerInspect(program);
  try {
    await program.parseAsync(translateLlamaBenchFlags(argv));
  } catch (err) {
    fail(err);
  }
}
