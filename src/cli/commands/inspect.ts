import chalk from 'chalk';
import type { Command } from 'commander';
import { ggmlTypeName, readGguf, type GgufFile, GgufValueType, isGgufArray, type GgufKV, valueTypeName } from '../../gguf/index.js';
import { summarize, type ModelSummary } from '../../gguf/summary.js';
import { metadataToJson, tensorsToJson } from '../../gguf/to-json.js';
import { inspectTokenize } from '../../tokenizer/index.js';
import { formatBytes, formatCount, renderFields, renderTable } from '../format.js';

interface InspectOptions {
  tensors?: boolean;
  keys?: boolean;
  json?: boolean;
  tokenize?: string;
  special?: boolean;
}

const dash = chalk.dim('—');
const show = (v: number | string | undefined): string => (v === undefined ? dash : String(v));

function overview(s: ModelSummary): string {
  const fields: Array<[string, string]> = [
    ['architecture', s.architecture ? chalk.cyan(s.architecture) : dash],
    ['name', show(s.name)],
    ['parameters', `${formatCount(s.params)} (${s.params.toLocaleString('en-US')})`],
    ['file type', show(s.fileType)],
    ['context length', show(s.contextLength)],
    ['layers', show(s.layers)],
    ['embedding width', show(s.embeddingLength)],
    ['feed-forward', show(s.feedForwardLength)],
    ['heads / KV heads', `${show(s.heads)} / ${show(s.headsKV)}`],
  ];
  if (s.experts !== undefined) {
    const ff = s.expertFeedForwardLength !== undefined ? `, feed-forward ${s.expertFeedForwardLength} each` : '';
    fields.push(['experts (used)', `${s.experts} (${show(s.expertsUsed)} per token${ff})`]);
  }
  if (s.activeParams !== undefined) {
    const pct = s.params > 0 ? ` = ${((s.activeParams / s.params) * 100).toFixed(1)}%` : '';
    fields.push(['active parameters', `${formatCount(s.activeParams)} of ${formatCount(s.params)} per token${pct} (${s.activeParams.toLocaleString('en-US')})`]);
  }
  fields.push(
    ['vocab', `${show(s.vocabSize)}${s.tokenizerModel ? ` (${s.tokenizerModel}${s.tokenizerPre ? `, pre ${s.tokenizerPre}` : ''})` : ''}`],
    ['chat template', s.hasChatTemplate ? chalk.green('yes') : 'no'],
    ['tensors', String(s.tensorCount)],
  );
  const types = renderTable(
    [{ header: 'type' }, { header: 'tensors', align: 'right' }, { header: 'params', align: 'right' },
      { header: 'bytes', align: 'right' }, { header: 'share', align: 'right' }],
    s.quantTypes.map((r) => [
      chalk.yellow(r.type), String(r.tensors), formatCount(r.params),
      r.bytes === undefined ? dash : formatBytes(r.bytes), `${(r.share * 100).toFixed(1)}%`,
    ]),
  );
  return [
    `${chalk.bold(s.file)}  ${chalk.dim(`(${formatBytes(s.fileSize)}, GGUF v${s.ggufVersion})`)}`,
    '',
    renderFields(fields),
    '',
    types,
    '',
    `  mean bits per weight: ${chalk.bold(s.bitsPerWeight.toFixed(2))}`,
  ].join('\n');
}

function tensorTable(file: GgufFile): string {
  return renderTable(
    [{ header: 'name' }, { header: 'shape' }, { header: 'type' }, { header: 'offset', align: 'right' }, { header: 'bytes', align: 'right' }],
    file.tensors.map((t) => [
      t.name, `[${t.dims.join(', ')}]`, chalk.yellow(ggmlTypeName(t.type)), String(t.fileOffset),
      t.bytes === undefined ? dash : String(t.bytes),
    ]),
  );
}

const SHOWN_ITEMS = 6;
const MAX_STRING = 120;

function shortString(s: string): string {
  const j = JSON.stringify(s);
  return j.length > MAX_STRING ? `${j.slice(0, MAX_STRING)}…" (${s.length} chars)` : j;
}

function describeValue({ type, value }: GgufKV): string {
  if (type === GgufValueType.STRING) return shortString(value as string);
  // float32 values print at float32 precision (1e-05, not 0.000009999999747).
  if (type === GgufValueType.FLOAT32) return String(Number((value as number).toPrecision(7)));
  if (isGgufArray(value)) {
    const items = value.items.slice(0, SHOWN_ITEMS).map((v) => describeValue({ type: value.itemType, value: v }));
    const more = value.items.length > SHOWN_ITEMS ? `, … ${value.items.length - SHOWN_ITEMS} more` : '';
    return `[${valueTypeName(value.itemType)} x ${value.items.length}] [${items.join(', ')}${more}]`;
  }
  return String(value);
}

function keyTable(file: GgufFile): string {
  return renderTable(
    [{ header: 'key' }, { header: 'type' }, { header: 'value' }],
    [...file.metadata.entries()].map(([k, v]) => [k, chalk.dim(valueTypeName(v.type)), describeValue(v)]),
  );
}

export function inspectText(file: GgufFile, opts: InspectOptions): string {
  const parts = [overview(summarize(file))];
  if (opts.keys) parts.push(chalk.bold('metadata'), keyTable(file));
  if (opts.tensors) parts.push(chalk.bold('tensors'), tensorTable(file));
  return parts.join('\n\n');
}

export function inspectJson(file: GgufFile): string {
  return JSON.stringify({
    ...summarize(file),
    alignment: file.alignment,
    dataOffset: file.dataOffset,
    metadata: metadataToJson(file),
    tensors: tensorsToJson(file),
  });
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show a GGUF model\'s architecture, metadata and tensor quant types')
    .argument('<model>', 'path to a .gguf file')
    .option('--tensors', 'list every tensor (name, shape, type, offset, bytes)')
    .option('--keys', 'print all metadata keys (long arrays shortened)')
    .option('--json', 'print one JSON object with everything, for scripts')
    .option('--tokenize <text>', 'print the token ids and pieces of the text alone (no BOS)')
    .option('--special', 'with --tokenize: recognise special-token strings such as <|im_start|>')
    .action((model: string, opts: InspectOptions) => {
      const file = readGguf(model);
      if (opts.tokenize !== undefined) {
        process.stdout.write(inspectTokenize(file, opts.tokenize, { special: opts.special === true, json: opts.json === true }));
        return;
      }
      process.stdout.write(`${opts.json ? inspectJson(file) : inspectText(file, opts)}\n`);
    });
}
