import type { BenchPrinter } from './printer.js';
import type { BenchRecord } from './record.js';
import { testName } from './tests.js';

interface MdColumn {
  readonly header: string;
  /** llama-bench's printf width: negative left-aligns. */
  readonly width: number;
  readonly value: (r: BenchRecord) => string;
}

function size(bytes: number): string {
  return bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(2)} MiB` : `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function params(n: number): string {
  return n < 1e9 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e9).toFixed(2)} B`;
}

const COLUMNS = {
  model: { header: 'model', width: -30, value: (r) => r.model_type },
  size: { header: 'size', width: 10, value: (r) => size(r.model_size) },
  params: { header: 'params', width: 10, value: (r) => params(r.model_n_params) },
  backend: { header: 'backend', width: -10, value: (r) => r.backends },
  ngl: { header: 'ngl', width: 3, value: (r) => String(r.n_gpu_layers) },
  threads: { header: 'threads', width: 7, value: (r) => String(r.n_threads) },
  n_batch: { header: 'n_batch', width: 7, value: (r) => String(r.n_batch) },
  type_k: { header: 'type_k', width: 6, value: (r) => r.type_k },
  type_v: { header: 'type_v', width: 6, value: (r) => r.type_v },
  test: { header: 'test', width: 15, value: (r) => testName({ nPrompt: r.n_prompt, nGen: r.n_gen, nDepth: r.n_depth }) },
  ts: { header: 't/s', width: 20, value: (r) => `${r.avg_ts.toFixed(2)} ± ${r.stddev_ts.toFixed(2)}` },
} satisfies Record<string, MdColumn>;

/** printf("%*s", width, s): pad to |width|, never truncate. */
function cell(s: string, width: number): string {
  return width < 0 ? s.padEnd(-width) : s.padStart(width);
}

export interface MarkdownOptions {
  /** The GPU backend shows the ngl column; the CPU one the threads column (as llama-bench). */
  readonly gpu: boolean;
  /** Threads were given on the command line (a GPU run shows them then). */
  readonly threadsGiven: boolean;
  readonly batchGiven: boolean;
  /** KV cache types other than f16 alone (llama-bench shows type_k and type_v then). */
  readonly kvTypeDiffers: boolean;
  /** The last line names what ran (llama-bench prints its build commit there). */
  readonly build: string;
}

/** llama-bench's default table: model, size, params, backend, [ngl | threads], options that differ from the defaults, test, t/s. */
export function markdownPrinter(o: MarkdownOptions): BenchPrinter {
  const cols: MdColumn[] = [COLUMNS.model, COLUMNS.size, COLUMNS.params, COLUMNS.backend];
  if (o.gpu) cols.push(COLUMNS.ngl);
  if (!o.gpu || o.threadsGiven) cols.push(COLUMNS.threads);
  if (o.batchGiven) cols.push(COLUMNS.n_batch);
  if (o.kvTypeDiffers) cols.push(COLUMNS.type_k, COLUMNS.type_v);
  cols.push(COLUMNS.test, COLUMNS.ts);
  const line = (cells: string[]): string => `|${cells.map((c) => ` ${c} |`).join('')}\n`;
  return {
    header: () => line(cols.map((c) => cell(c.header, c.width)))
      + line(cols.map((c) => `${'-'.repeat(Math.abs(c.width) - 1)}${c.width > 0 ? ':' : '-'}`)),
    row: (r) => line(cols.map((c) => cell(c.value(r), c.width))),
    footer: (devices) => `\nbuild: ${o.build}${devices.length > 0 ? ` (${devices.join('; ')})` : ''}\n`,
  };
}
