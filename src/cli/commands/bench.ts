import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ExecutorKind } from '../../backend/native-lib.js';
import type { KvType } from '../../backend/op-builder.js';
import { createPrinter, isOutputFormat, OUTPUT_FORMATS, type OutputFormat } from '../../bench/output-format.js';
import type { BenchOutput } from '../../bench/printer.js';
import { PRIORITY_LEVELS, setPriority } from '../../bench/priority.js';
import { createProgress } from '../../bench/progress.js';
import { runBench } from '../../bench/runner.js';
import { parseIntRanges } from '../int-ranges.js';
import { checkBackendAvailable, defaultBackend, parseBackend, parseIntArg, parseKvType } from '../run-options.js';
import { UserError } from '../user-error.js';
import { VERSION } from '../version.js';

interface BenchCliOptions {
  model?: string[];
  nPrompt?: number[];
  nGen?: number[];
  nDepth?: number[];
  nPg?: [number, number][];
  threads?: number[];
  repetitions: number;
  output?: OutputFormat;
  json?: boolean;
  backend?: ExecutorKind;
  batch?: number[];
  kvType?: KvType[];
  cacheTypeK?: KvType[];
  cacheTypeV?: KvType[];
  warmup: boolean;
  outputErr?: OutputFormat | 'none';
  delay: number;
  prio: number;
}

/**
 * A comma list of whole numbers or ranges (-p 128,512 or -p 64-512*2), and the
 * flag may repeat (-p 128 -p 512), as llama-bench takes them.
 */
const intList = (min: number) => (v: string, prev: number[] | undefined): number[] => {
  const nums = parseIntRanges(v, min);
  if (typeof nums === 'string') throw new InvalidArgumentError(nums);
  return [...(prev ?? []), ...nums];
};

/** One prompt,generated pair a flag (-pg 512,128); the flag may repeat, as llama-bench's does. */
function pgPair(v: string, prev: [number, number][] | undefined): [number, number][] {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected two whole numbers >= 0: prompt tokens,generated tokens (e.g. 512,128)');
  return [...(prev ?? []), [Number(m[1]), Number(m[2])]];
}

/**
 * Model paths: llama-bench splits -m at commas, and so does ferrum, unless
 * the whole value names a file (a path may hold a comma).
 */
function modelList(v: string, prev: string[] | undefined): string[] {
  const paths = v.includes(',') && !existsSync(v) ? v.split(',').filter((p) => p !== '') : [v];
  return [...(prev ?? []), ...paths];
}

/** A comma list of KV cache types; the flag may repeat. */
function kvTypeList(v: string, prev: KvType[] | undefined): KvType[] {
  return [...(prev ?? []), ...v.split(',').map((s) => parseKvType(s.trim()))];
}

/**
 * The KV cache types to measure, one row set each. llama-bench crosses its
 * -ctk and -ctv lists; ferrum's cache keeps K and V in one type, so every
 * pair of the cross must agree, and a K type alone needs its V type too
 * (llama-bench's V default is f16).
 */
function chooseKvTypes(o: BenchCliOptions): KvType[] {
  if (o.kvType !== undefined && (o.cacheTypeK !== undefined || o.cacheTypeV !== undefined)) {
    throw new UserError('give --kv-type or -ctk/-ctv, not both');
  }
  if (o.kvType !== undefined) return o.kvType;
  const out: KvType[] = [];
  for (const k of o.cacheTypeK ?? ['f16']) {
    for (const v of o.cacheTypeV ?? ['f16']) {
      if (k !== v) throw new UserError(`-ctk ${k} with -ctv ${v}: ferrum's KV cache keeps K and V in one type; give both the same (or --kv-type)`);
      out.push(k);
    }
  }
  return out;
}

function parseOutput(v: string): OutputFormat {
  if (!isOutputFormat(v)) throw new InvalidArgumentError(`expected one of ${OUTPUT_FORMATS.join(', ')}`);
  return v;
}

function parseOutputErr(v: string): OutputFormat | 'none' {
  if (v !== 'none' && !isOutputFormat(v)) throw new InvalidArgumentError(`expected one of ${OUTPUT_FORMATS.join(', ')}, none`);
  return v;
}

function parsePrio(v: string): number {
  const n = Number(v);
  if (!PRIORITY_LEVELS.includes(n)) throw new InvalidArgumentError(`expected one of ${PRIORITY_LEVELS.join(', ')}`);
  return n;
}

function benchAction(positional: string | undefined, opts: BenchCliOptions): void {
  // the argument and every -m, each model once, in the order given
  const models = [...new Set([...(positional === undefined ? [] : [positional]), ...(opts.model ?? [])])];
  if (models.length === 0) throw new UserError('no model given: ferrum bench MODEL.gguf [-p 512] [-n 128] [-r 5] [-t N]');
  if (opts.json && opts.output !== undefined && opts.output !== 'json') {
    throw new UserError(`--json and -o ${opts.output} ask for different formats; give one`);
  }
  const format: OutputFormat = opts.json ? 'json' : opts.output ?? 'md';
  const nPrompt = opts.nPrompt ?? [512];
  const nGen = opts.nGen ?? [128];
  const nPg = opts.nPg ?? [];
  if (![...nPrompt, ...nGen, ...nPg.flat()].some((n) => n > 0)) throw new UserError('nothing to measure: every -p, -n and -pg value is 0');
  const backend = opts.backend ?? defaultBackend();
  checkBackendAvailable(backend);
  const kvTypes = chooseKvTypes(opts);
  const build = `ferrum ${VERSION}`;
  const md = {
    gpu: backend !== 'cpu',
    threadsGiven: opts.threads !== undefined,
    batchGiven: opts.batch !== undefined,
    kvTypeDiffers: kvTypes.some((t) => t !== 'f16'),
    build,
  };
  const outputs: BenchOutput[] = [{ printer: createPrinter(format, md), to: 'stdout' }];
  if (opts.outputErr !== undefined && opts.outputErr !== 'none') outputs.push({ printer: createPrinter(opts.outputErr, md), to: 'stderr' });
  setPriority(opts.prio);
  runBench({
    models, nPrompt, nGen, nPg, nDepth: opts.nDepth ?? [0], threads: opts.threads ?? [0], reps: opts.repetitions, warmup: opts.warmup,
    backend, kvTypes, batches: opts.batch, delaySeconds: opts.delay, build,
  }, outputs, createProgress());
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure prompt (pp) and generation (tg) tokens/second the way llama-bench does, in its output formats')
    .argument('[model]', 'path to a .gguf file')
    .option('-m, --model <path,...>', 'models (as llama-bench -m), or give one as the argument; may repeat, a row set per model', modelList)
    .option('-p, --n-prompt <n,...>', 'prompt sizes: tokens evaluated in one prefill step, after -d tokens (default: 512)', intList(0))
    .option('-n, --n-gen <n,...>', 'generation lengths: tokens decoded one at a time, after -d tokens (default: 128)', intList(0))
    .option('--n-pg <pp,tg>', 'a prompt of pp tokens then tg generated, timed as one test (pp512+tg128; llama-bench -pg, which is accepted too); may repeat', pgPair)
    .option('-d, --n-depth <n,...>', 'tokens already in the context (filled untimed) before each test, a row set per value (default: 0)', intList(0))
    .option('-r, --repetitions <n>', 'timed runs of each test, after one untimed warm-up', parseIntArg(1), 5)
    .option('-t, --threads <n,...>', 'CPU threads, a row set per value (default: one per core)', intList(1))
    .option('-o, --output <format>', `output format: ${OUTPUT_FORMATS.join(', ')} (default: md)`, parseOutput)
    .option('--output-err <format>', 'the results on stderr too, in this format (llama-bench -oe, accepted too; default: none)', parseOutputErr)
    .option('--json', 'same as -o json')
    .addOption(new Option('--backend <name>', 'cpu or metal (default: metal on Apple Silicon, else cpu)').argParser(parseBackend))
    .option('-b, --batch <n,...>', 'most prompt tokens per step, a row set per value (llama-bench\'s --batch-size, accepted too; default: the whole prompt in one step)', intList(1))
    .option('--kv-type <type,...>', 'KV cache types, f16, f32 or q8_0, for K and V alike, a row set per type (default: f16)', kvTypeList)
    .option('--cache-type-k <type,...>', 'llama-bench\'s -ctk (accepted too): K cache types; ferrum needs the same list for V', kvTypeList)
    .option('--cache-type-v <type,...>', 'llama-bench\'s -ctv (accepted too): V cache types', kvTypeList)
    .option('--no-warmup', 'skip the untimed warm-up run before each test')
    .option('--delay <seconds>', 'wait this long before each test, to let the machine cool off', parseIntArg(0), 0)
    .option('--prio <level>', `process priority as llama-bench's: ${PRIORITY_LEVELS.join(', ')} (nice 5, 0, -5, -10, -20; above 0 needs root)`, parsePrio, 0)
    .action((model: string | undefined, opts: BenchCliOptions) => benchAction(model, opts));
}
