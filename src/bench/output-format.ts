import { csvPrinter } from './format-csv.js';
import { jsonlPrinter, jsonPrinter } from './format-json.js';
import { markdownPrinter, type MarkdownOptions } from './format-markdown.js';
import { sqlPrinter } from './format-sql.js';
import type { BenchPrinter } from './printer.js';

/** llama-bench's -o formats. */
export const OUTPUT_FORMATS = ['md', 'csv', 'json', 'jsonl', 'sql'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(v: string): v is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(v);
}

export function createPrinter(format: OutputFormat, md: MarkdownOptions): BenchPrinter {
  switch (format) {
    case 'md': return markdownPrinter(md);
    case 'csv': return csvPrinter;
    case 'json': return jsonPrinter;
    case 'jsonl': return jsonlPrinter;
    case 'sql': return sqlPrinter;
  }
}
