import chalk from 'chalk';

/** 1.1 MB, 636 MiB style sizes as llama.cpp prints them (binary units). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** 1.10 B / 636.2 M / 12.3 K parameter counts. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** Aligned columns whose cells may already carry chalk colours. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (s: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, widths[i]! - visibleLength(s)));
    return columns[i]!.align === 'right' ? fill + s : s + fill;
  };
  const lines = [columns.map((c, i) => chalk.bold(pad(c.header, i))).join('  ')];
  for (const r of rows) lines.push(columns.map((_, i) => pad(r[i] ?? '', i)).join('  '));
  return lines.map((l) => (indent + l).trimEnd()).join('\n');
}

/** Label/value pairs with the labels padded to one width. */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>, indent = '  '): string {
  const w = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${indent}${chalk.dim(k.padEnd(w))}  ${v}`).join('\n');
}
