import type { BenchRecord } from './record.js';

/** An output format: the text before the first row, each row as its test finishes, and the text after. */
export interface BenchPrinter {
  header(): string;
  row(r: BenchRecord, index: number): string;
  /** `devices`: the engines' device names ("cpu (avx2 fma f16c, 2 threads)"). */
  footer(devices: readonly string[]): string;
}

/** A printer and the stream its text goes to (llama-bench -o on stdout, -oe on stderr). */
export interface BenchOutput {
  readonly printer: BenchPrinter;
  readonly to: 'stdout' | 'stderr';
}
