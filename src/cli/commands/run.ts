import type { Command } from 'commander';
import { UserError } from '../user-error.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('generate text from a prompt (not available yet)')
    .argument('[model]', 'path to a .gguf file')
    .argument('[prompt]', 'the prompt')
    .allowUnknownOption(true)
    .action(() => {
      throw new UserError('ferrum run is not available yet in this version');
    });
}
