import type { BenchPrinter } from './printer.js';
import { fieldText, FIELDS, type BenchRecord, type ScalarField } from './record.js';

/** Columns llama-bench's sql printer declares INTEGER (its ints and bools) or REAL; every other one is TEXT. */
const INTEGER = new Set<ScalarField>([
  'build_number', 'n_batch', 'n_ubatch', 'n_threads', 'poll', 'model_size', 'model_n_params', 'n_gpu_layers',
  'main_gpu', 'n_prompt', 'n_gen', 'n_depth', 'avg_ns', 'stddev_ns', 'no_op_offload', 'n_cpu_moe', 'fit_target',
  'fit_min_ctx', 'flash_attn', 'no_kv_offload', 'cpu_strict', 'embeddings', 'no_host',
]);
const REAL = new Set<ScalarField>(['avg_ts', 'stddev_ts']);

const sqlType = (f: ScalarField): string => (INTEGER.has(f) ? 'INTEGER' : REAL.has(f) ? 'REAL' : 'TEXT');

/** A value in single quotes, as llama-bench writes every one; a quote inside is doubled, so a path with one stays valid SQL. */
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * llama-bench -o sql: a CREATE TABLE for the llama_bench table, then one
 * INSERT per test (no sample arrays), for `sqlite3 results.db`.
 */
export const sqlPrinter: BenchPrinter = {
  header: () => `CREATE TABLE IF NOT EXISTS llama_bench (\n${FIELDS.map((f) => `  ${f} ${sqlType(f)}`).join(',\n')}\n);\n\n`,
  row: (r: BenchRecord) =>
    `INSERT INTO llama_bench (${FIELDS.join(', ')}) VALUES (${FIELDS.map((f) => literal(fieldText(f, r[f]))).join(', ')});\n`,
  footer: () => '',
};
