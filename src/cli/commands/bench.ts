import type { Command } from 'commander';
import { UserError } from '../user-error.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure prompt and generation tokens/second, llama-bench style (not available yet)')
    .argument('<model>', 'path to a .gguf file')
    .allowUnknownOption(true)
    .action(() => {
      throw new UserError('ferrum bench is not available yet in this version');
    });
}
