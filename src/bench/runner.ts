import { cpus } from 'node:os';
import { basename } from 'node:path';
import type { ExecutorKind } from '../backend/native-lib.js';
import type { KvType } from '../backend/op-builder.js';
import { readGguf, type GgufFile } from '../gguf/index.js';
import { Engine } from '../model/engine.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { measure, type Phase } from './measure.js';
import { modelInfo } from './model-info.js';
import type { BenchOutput, BenchPrinter } from './printer.js';
import type { Progress } from './progress.js';
import { makeRecord, type BenchRecord } from './record.js';
import { expandTests, testName, type BenchTest } from './tests.js';
import { TokenSource } from './token-source.js';

export interface BenchOptions {
  /** Models, a row set each, in order (llama-bench -m, repeated). */
  readonly models: readonly string[];
  readonly nPrompt: readonly number[];
  readonly nGen: readonly number[];
  /** Tokens already in the context before each test (llama-bench -d). */
  readonly nDepth: readonly number[];
  /** Prompt-then-generation pairs, each timed as one test (llama-bench -pg). */
  readonly nPg: readonly (readonly [number, number])[];
  /** 0 = one per core. */
  readonly threads: readonly number[];
  readonly reps: number;
  readonly warmup: boolean;
  readonly backend: ExecutorKind;
  /** KV cache types, a row set each (llama-bench -ctk/-ctv, K and V alike). */
  readonly kvTypes: readonly KvType[];
  /**
   * Most prompt tokens per step, a row set each (llama-bench -b); undefined =
   * the whole prompt in one step.
   */
  readonly batches: readonly number[] | undefined;
  /** Seconds to wait before each test, so a machine cools off (llama-bench --delay). */
  readonly delaySeconds: number;
  readonly build: string;
}

/** BOS where the model's tokenizer adds one (llama-bench starts each sequence so); none if there is no tokenizer. */
function bosToken(file: GgufFile): number | undefined {
  try {
    const tok = loadTokenizer(file, { warn: () => undefined });
    return tok.addsBos ? tok.bos : undefined;
  } catch {
    return undefined;
  }
}

const phaseText = (p: Phase): string =>
  p.kind === 'warmup' ? 'warm-up' : p.kind === 'depth' ? `filling the context to depth ${p.tokens}` : `rep ${p.rep}/${p.reps}`;

/** Tokens a step takes while filling a depth with no larger prompt: llama-bench's default micro-batch. */
const DEPTH_BATCH = 512;

/** Block the thread for `seconds` (the run is synchronous; nothing else waits on it). */
function sleepSeconds(seconds: number): void {
  if (seconds > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/** The engines to load, in llama-bench's order: batch size, KV cache type, then threads. */
function engineSettings(o: BenchOptions): { batch: number | undefined; kvType: KvType; threads: number }[] {
  return (o.batches ?? [undefined]).flatMap((batch) =>
    o.kvTypes.flatMap((kvType) => o.threads.map((threads) => ({ batch, kvType, threads }))));
}

/**
 * Run every test (llama-bench's order: model, batch size, KV cache type,
 * threads, then the tests), printing each row as it finishes, in one table
 * to every output. One engine per model, batch size, KV cache type and
 * thread count, sized for the largest test (context = depth + prompt +
 * generated tokens, batch = the largest prompt, or up to DEPTH_BATCH for a
 * depth fill, if -b gives none smaller), reused across tests. Every model's
 * header is read before the first test, so a bad path fails before any time
 * is spent.
 */
export function runBench(o: BenchOptions, outputs: readonly BenchOutput[], progress: Progress): BenchRecord[] {
  const models = o.models.map((path) => ({ path, file: readGguf(path) }));
  const settings = engineSettings(o);
  const tests = expandTests({ ...o, threads: [0] });
  const total = tests.length * settings.length * models.length;
  const nCtx = Math.max(1, ...tests.map((t) => t.nDepth + t.nPrompt + t.nGen));
  const widest = Math.max(1, ...tests.map((t) => Math.max(t.nPrompt, Math.min(t.nDepth, DEPTH_BATCH))));
  const records: BenchRecord[] = [];
  const devices = new Set<string>();
  const print = (text: (p: BenchPrinter) => string): void => outputs.forEach((out) => progress.print(text(out.printer), out.to));
  print((p) => p.header());
  try {
    for (const { path, file } of models) {
      const info = modelInfo(path, file);
      const bos = bosToken(file);
      const name = basename(path);
      const which = models.length > 1 ? `${name}: ` : '';
      for (const { batch: asked, kvType, threads } of settings) {
        const mine: BenchTest[] = expandTests({ ...o, threads: [threads] });
        if (mine.length === 0) continue;
        const batch = Math.max(1, Math.min(asked ?? Number.POSITIVE_INFINITY, widest));
        const cache = o.kvTypes.length > 1 ? `, ${kvType} KV cache` : '';
        const batched = o.batches !== undefined && o.batches.length > 1 ? `, batch ${asked}` : '';
        progress.update(`loading ${name} (${o.backend}, ${threads || 'all'} threads${cache}${batched})`);
        const engine = Engine.load(path, { backend: o.backend, threads, nCtx, batch, kvType, maxOutputs: 1 });
        try {
          devices.add(engine.device.name);
          const nThreads = engine.device.threads;
          const ctx = {
            build: o.build,
            cpuInfo: cpus()[0]?.model.trim() ?? '',
            gpuInfo: o.backend === 'cpu' ? '' : engine.device.name,
            backends: o.backend === 'cpu' ? 'CPU' : 'Metal',
            // the size asked for, as llama-bench reports its -b, else the one step a prompt takes
            nBatch: asked ?? batch,
            nThreads,
            kvType,
            nGpuLayers: o.backend === 'cpu' ? 0 : 99,
          };
          for (const t of mine) {
            const idx = records.length + 1;
            const label = `${idx}/${total} ${which}${testName(t)}, ${nThreads} threads${cache}${batched}`;
            if (o.delaySeconds > 0) {
              progress.update(`${label}: waiting ${o.delaySeconds} s (--delay)`);
              sleepSeconds(o.delaySeconds);
            }
            const started = new Date();
            const samples = measure(engine, t, {
              reps: o.reps,
              warmup: o.warmup,
              tokens: new TokenSource(engine.hp.nVocab, bos, idx),
              onPhase: (p) => progress.update(`${label}: ${phaseText(p)}`),
            });
            const r = makeRecord(info, ctx, t, samples, started);
            print((p) => p.row(r, records.length));
            records.push(r);
          }
        } finally {
          engine.close();
        }
      }
    }
  } catch (e) {
    progress.fail();
    throw e;
  }
  print((p) => p.footer([...devices]));
  progress.succeed(`${records.length} test${records.length === 1 ? '' : 's'} done on ${[...devices].join('; ')}`);
  return records;
}
