import type { BenchPrinter } from './printer.js';
import { FIELDS, type BenchRecord } from './record.js';

/** The scalar fields in llama-bench's order, then samples_ns and samples_ts, as [key, JSON text]. */
function entries(r: BenchRecord): Array<[string, string]> {
  const arr = (xs: readonly number[]): string => `[ ${xs.map((x) => JSON.stringify(x)).join(', ')} ]`;
  return [
    ...FIELDS.map((f): [string, string] => [f, JSON.stringify(r[f])]),
    ['samples_ns', arr(r.samples_ns)],
    ['samples_ts', arr(r.samples_ts)],
  ];
}

/** llama-bench -o json: one array, an object per test (a key per line), written as each test finishes. */
export const jsonPrinter: BenchPrinter = {
  header: () => '[\n',
  row: (r, i) => `${i === 0 ? '' : ',\n'}  {\n${entries(r).map(([k, v]) => `    "${k}": ${v}`).join(',\n')}\n  }`,
  footer: () => '\n]\n',
};

/** llama-bench -o jsonl: one object per line. */
export const jsonlPrinter: BenchPrinter = {
  header: () => '',
  row: (r) => `{${entries(r).map(([k, v]) => `"${k}": ${v}`).join(', ')}}\n`,
  footer: () => '',
};
