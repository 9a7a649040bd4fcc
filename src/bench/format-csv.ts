import type { BenchPrinter } from './printer.js';
import { FIELDS, type BenchRecord, type ScalarField } from './record.js';

/** A value as llama-bench's std::to_string writes it: bools 0/1, t/s with 6 decimals. */
function text(f: ScalarField, v: BenchRecord[ScalarField]): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (f === 'avg_ts' || f === 'stddev_ts') return (v as number).toFixed(6);
  return String(v);
}

/** Every value double-quoted, quotes doubled (llama-bench's escape_csv). */
const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** llama-bench -o csv: a header of field names, then one quoted line per test (no sample arrays). */
export const csvPrinter: BenchPrinter = {
  header: () => `${FIELDS.join(',')}\n`,
  row: (r) => `${FIELDS.map((f) => quote(text(f, r[f]))).join(',')}\n`,
  footer: () => '',
};
