import type { BenchPrinter } from './printer.js';
import { fieldText, FIELDS } from './record.js';

/** Every value double-quoted, quotes doubled (llama-bench's escape_csv). */
const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** llama-bench -o csv: a header of field names, then one quoted line per test (no sample arrays). */
export const csvPrinter: BenchPrinter = {
  header: () => `${FIELDS.join(',')}\n`,
  row: (r) => `${FIELDS.map((f) => quote(fieldText(f, r[f]))).join(',')}\n`,
  footer: () => '',
};
