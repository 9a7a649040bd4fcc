import chalk from 'chalk';

/**
 * chalk already turns colour off for non-TTY output; users also expect
 * NO_COLOR (https://no-color.org) and --no-color to win everywhere.
 */
export function configureColor(argv: readonly string[]): void {
  if (argv.includes('--no-color') || (process.env.NO_COLOR ?? '') !== '') chalk.level = 0;
}
