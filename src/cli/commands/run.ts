import { statSync } from 'node:fs';
import { basename } from 'node:path';
import chalk from 'chalk';
import { type Command, Option } from 'commander';
import ora from 'ora';
import type { ExecutorKind } from '../../backend/native-lib.js';
import type { KvType } from '../../backend/op-builder.js';
import { generate } from '../../generation/generate.js';
import { readGguf } from '../../gguf/index.js';
import { Engine } from '../../model/engine.js';
import { readHParams } from '../../model/hparams.js';
import { needsEager, readProfileEnv } from '../../profile/env.js';
import { OpProfiler } from '../../profile/op-profiler.js';
import { samplingParams, validateSamplingParams } from '../../sampling/params.js';
import { Sampler } from '../../sampling/sampler.js';
import { loadTokenizer } from '../../tokenizer/index.js';
import { chatRepl } from '../chat-repl.js';
import { formatBytes } from '../format.js';
import { Interrupt } from '../interrupt.js';
import { resolveModelAndPrompt } from '../model-path.js';
import {
  checkBackendAvailable, chooseContext, collect, defaultBackend, parseBackend, parseFloatArg, parseIntArg, parseKvType, parseTokenList,
} from '../run-options.js';
import { summary, timings } from '../run-report.js';
import { UserError } from '../user-error.js';

interface RunOptions {
  system?: string;
  raw?: boolean;
  maxTokens: number;
  temp?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  stop: string[];
  backend?: ExecutorKind;
  threads?: number;
  ctxSize?: number;
  batch: number;
  kvType: KvType;
  verbose?: boolean;
  json?: boolean;
  tokens?: number[];
  logprobs: number;
  thinking?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function runAction(first: string | undefined, second: string | undefined, opts: RunOptions): Promise<void> {
  const env = readProfileEnv();
  const { model } = resolveModelAndPrompt(first, second);
  let { prompt } = resolveModelAndPrompt(first, second);
  const sampling = samplingParams({
    temperature: opts.temp, topK: opts.topK, topP: opts.topP, minP: opts.minP, repeatPenalty: opts.repeatPenalty,
    repeatLastN: opts.repeatLastN, presencePenalty: opts.presencePenalty, frequencyPenalty: opts.frequencyPenalty, seed: opts.seed,
  });
  const bad = validateSamplingParams(sampling);
  if (bad) throw new UserError(bad);
  const backend = opts.backend ?? env.backend ?? defaultBackend();
  checkBackendAvailable(backend);
  const threads = opts.threads ?? env.threads ?? 0;

  const interactive = prompt === undefined && opts.tokens === undefined && process.stdin.isTTY === true && !opts.json;
  // Piped text ends with the newline `echo` adds; it is not part of the prompt.
  if (prompt === undefined && opts.tokens === undefined && !interactive) prompt = (await readStdin()).replace(/\r?\n$/, '');

  const t0 = performance.now();
  const file = readGguf(model);
  const hp = readHParams(file);
  const tok = loadTokenizer(file);
  const ctx = chooseContext(hp, file.fileSize, opts.kvType, opts.ctxSize);
  if (ctx.cappedFrom !== undefined) {
    process.stderr.write(`ferrum: context capped to ${ctx.nCtx} tokens (the model's ${ctx.cappedFrom} would not fit in memory); set -c to choose\n`);
  }
  if (ctx.beyondTrain !== undefined) {
    process.stderr.write(`ferrum: warning: a ${ctx.nCtx}-token context is longer than the ${ctx.beyondTrain} the model was trained on; text past that may degrade\n`);
  }
  const spinner = ora({
    text: `loading ${basename(model)} (${formatBytes(statSync(model).size)}, ${backend}, ${threads || 'all'} threads)`,
    stream: process.stderr,
    // ora loops forever on a terminal that reports 0 columns (e.g. under `script`).
    isSilent: !process.stderr.isTTY || (process.stderr.columns ?? 0) <= 0 || opts.json === true,
  }).start();
  const profiler = env.profile || env.trace ? new OpProfiler(env.trace !== undefined) : undefined;
  let engine: Engine;
  try {
    engine = Engine.load(model, {
      backend, threads, nCtx: ctx.nCtx, batch: Math.min(opts.batch, ctx.nCtx), kvType: opts.kvType, maxOutputs: 1,
      eager: needsEager(env), ...(profiler ? { onOp: profiler.record } : {}),
    });
  } catch (e) {
    spinner.fail();
    throw e;
  }
  const loadMs = performance.now() - t0;
  spinner.succeed(`loaded ${basename(model)} in ${loadMs.toFixed(0)} ms (${engine.device.name})`);

  const sampler = new Sampler(sampling, hp.nVocab);
  const interrupt = new Interrupt();
  const gen = { sampler, maxTokens: opts.maxTokens, stop: opts.stop, logprobs: opts.logprobs };
  try {
    if (interactive) {
      await chatRepl(engine, tok, opts.system, gen, interrupt);
      return;
    }
    const chatOpts = opts.thinking === undefined ? {} : { enableThinking: opts.thinking };
    const promptTokens = opts.tokens
      ?? (opts.raw || !tok.chatTemplate
        ? (opts.system === undefined ? tok.encode(prompt!, { addBos: true, parseSpecial: true }) : tok.encodeChat([{ role: 'system', content: opts.system }, { role: 'user', content: prompt! }], chatOpts))
        : tok.encodeChat([...(opts.system ? [{ role: 'system', content: opts.system }] : []), { role: 'user', content: prompt! }], chatOpts));
    if (promptTokens.length === 0) throw new UserError('the prompt is empty');
    if (promptTokens.length >= ctx.nCtx) {
      const than = promptTokens.length === ctx.nCtx ? 'as long as' : 'longer than';
      throw new UserError(`the prompt is ${promptTokens.length} tokens, ${than} the ${ctx.nCtx}-token context, with no room to generate (raise -c/--ctx-size)`);
    }
    const r = await generate(engine, tok, promptTokens, {
      ...gen,
      shouldStop: () => interrupt.requested,
      ...(opts.json ? {} : { onText: (s: string) => process.stdout.write(s) }),
    });
    const t = timings(loadMs, promptTokens.length, r);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({
        text: r.text, prompt_tokens: promptTokens, tokens: r.tokens, stop_reason: r.stopReason, seed: sampler.seed,
        model: basename(model), backend: engine.device.name, n_ctx: ctx.nCtx, timings: t,
        ...(r.logprobs ? { logprobs: r.logprobs } : {}),
      })}\n`);
    } else {
      process.stdout.write('\n');
      if (r.stopReason === 'context') process.stderr.write(chalk.yellow(`ferrum: stopped at the end of the ${ctx.nCtx}-token context\n`));
    }
    if (opts.verbose || env.profile || interrupt.requested) process.stderr.write(`${summary(t, engine.device.name, r.stopReason, needsEager(env))}\n`);
    if (profiler) {
      if (env.profile) process.stderr.write(`${profiler.table()}\n`);
      if (env.trace) {
        profiler.writeTrace(env.trace);
        process.stderr.write(`ferrum: trace of every op written to ${env.trace} (open it in https://ui.perfetto.dev)\n`);
      }
    }
    if (interrupt.requested) process.exitCode = 130;
  } finally {
    interrupt.dispose();
    engine.close();
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('generate text from a prompt (a chat turn where the model has a chat template)')
    .argument('[model]', 'path to a .gguf file (default: the bundled tolstoy-tiny model)')
    .argument('[prompt]', 'the prompt; omitted: interactive chat on a terminal, else read from stdin')
    .option('--system <text>', 'a system message before the prompt')
    .option('--raw', 'send the prompt as plain completion, without the chat template')
    .option('-n, --max-tokens <n>', 'tokens to generate (-1: until end of text or context)', parseIntArg(-1), -1)
    .option('--temp <t>', 'temperature; 0 = greedy (default 0.8)', parseFloatArg)
    .option('--top-k <k>', 'keep the k most likely tokens; 0 = off (default 40)', parseIntArg(0))
    .option('--top-p <p>', 'nucleus sampling; 1 = off (default 0.95)', parseFloatArg)
    .option('--min-p <p>', 'drop tokens below p x the top probability; 0 = off (default 0.05)', parseFloatArg)
    .option('--repeat-penalty <r>', 'penalise recently seen tokens; 1 = off (default 1.0)', parseFloatArg)
    .option('--repeat-last-n <n>', 'how many recent tokens the penalties see (default 64)', parseIntArg(0))
    .option('--presence-penalty <p>', 'OpenAI-style presence penalty (default 0)', parseFloatArg)
    .option('--frequency-penalty <p>', 'OpenAI-style frequency penalty (default 0)', parseFloatArg)
    .option('--seed <n>', 'random seed; the same seed gives the same output (default: random)', parseIntArg(-1))
    .option('--stop <text>', 'stop when the output contains this text (not printed); repeatable', collect, [])
    .addOption(new Option('--backend <name>', 'cpu or metal (default: metal on Apple Silicon, else cpu)').argParser(parseBackend))
    .option('-t, --threads <n>', 'CPU threads (default: one per core)', parseIntArg(1))
    .option('-c, --ctx-size <n>', 'context size in tokens (default: the model\'s, capped to fit memory)', parseIntArg(16))
    .option('-b, --batch <n>', 'prompt tokens per step', parseIntArg(1), 512)
    .option('--kv-type <type>', 'KV cache type: f16, f32 or q8_0', parseKvType, 'f16')
    .option('--tokens <ids>', 'the prompt as token ids (comma-separated) instead of text', parseTokenList)
    .option('--logprobs <n>', 'with --json: the top n candidates of each generated token', parseIntArg(0), 0)
    .option('--no-thinking', 'ask reasoning models (Qwen3) to answer without a thinking block')
    .option('--json', 'print one JSON object (text, prompt_tokens, tokens, timings) instead of streaming')
    .option('--verbose', 'print load and speed statistics after generation')
    .action(async (first: string | undefined, second: string | undefined, opts: RunOptions) => runAction(first, second, opts));
}

