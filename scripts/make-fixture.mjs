#!/usr/bin/env node
// make-fixture: a random-weight GGUF of a given architecture and shape, with
// the vocabulary of another GGUF, quantized by llama.cpp's own quantizer.
// `node scripts/make-fixture.mjs --help` for usage; prints the output path.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixtureArgError, USAGE, parseFixtureArgs } from './fixture/args.mjs';
import { fixtureKey, fixtureSpec } from './fixture/model-spec.mjs';
import { QuantizeError, ensureQuantizer, quantizeGguf } from './fixture/quantize.mjs';
import { writeRandomGguf } from './fixture/random-weights.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE_DIR = process.env.FERRUM_FIXTURE_CACHE ?? join(homedir(), '.cache/ferrum/fixtures');
// The compiled quantizer and llama.cpp headers stay here even when FERRUM_FIXTURE_CACHE moves the outputs.
const TOOLS_DIR = join(homedir(), '.cache/ferrum/fixtures/.tools');
const DEFAULT_VOCAB = resolve(REPO_ROOT, '../shared/models/llama-2-tiny-random.gguf');

class FixtureError extends Error {}

async function loadGgufModule() {
  try {
    return await import('../dist/gguf/index.js');
  } catch {
    throw new FixtureError('dist/gguf is not built: run `npx tsc -p tsconfig.json` first');
  }
}

const toJson = (value) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

/** Every tokenizer.* key of the vocabulary source, and the vocabulary size. */
function readVocab(path, gguf) {
  if (!existsSync(path)) throw new FixtureError(`--vocab-from ${path}: no such file`);
  let file;
  try {
    file = gguf.readGguf(path);
  } catch (e) {
    throw new FixtureError(`--vocab-from ${path}: ${e.message}`);
  }
  const entries = [...file.metadata.entries()].filter(([key]) => key.startsWith('tokenizer.'));
  const tokens = file.metadata.get('tokenizer.ggml.tokens')?.value?.items;
  if (!Array.isArray(tokens) || tokens.length === 0) throw new FixtureError(`--vocab-from ${path} has no tokenizer.ggml.tokens`);
  const digest = createHash('sha256').update(toJson(entries)).digest('hex').slice(0, 12);
  return { entries, size: tokens.length, id: `${basename(path)}:${digest}` };
}

/** A readable name that still changes with every argument that changes the bytes. */
function defaultOutputPath(opts) {
  const hash = createHash('sha256').update(fixtureKey(opts)).digest('hex').slice(0, 10);
  const experts = opts.experts > 0 ? `-${opts.experts}x${opts.expertsUsed}e${opts.expertFf}` : '';
  const shape = `${opts.layers}L-${opts.dim}d-${opts.ff}ff-${opts.heads}h${opts.kvHeads}kv${experts}`;
  return join(CACHE_DIR, `${opts.arch}-${shape}-${opts.type}${opts.tied ? '-tied' : ''}-s${opts.seed}-${hash}.gguf`);
}

/** An existing output is reused only when it records the same arguments. */
function madeWithSameArgs(path, opts, gguf) {
  if (!existsSync(path)) return false;
  try {
    return gguf.readGguf(path).metadata.get('ferrum.fixture.args')?.value === fixtureKey(opts);
  } catch {
    return false;
  }
}

async function main(argv) {
  const opts = parseFixtureArgs(argv, { vocabFrom: DEFAULT_VOCAB });
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const gguf = await loadGgufModule();
  const vocab = readVocab(resolve(opts.vocabFrom), gguf);
  opts.vocabId = vocab.id;
  const out = resolve(opts.out ?? defaultOutputPath(opts));

  if (!opts.force && madeWithSameArgs(out, opts, gguf)) {
    process.stderr.write(`make-fixture: reusing ${out}\n`);
    process.stdout.write(`${out}\n`);
    return;
  }
  mkdirSync(dirname(out), { recursive: true });
  mkdirSync(TOOLS_DIR, { recursive: true });
  const quantizer = ensureQuantizer(TOOLS_DIR);

  const base = `${out}.f16-${process.pid}.tmp`;
  const partial = `${out}.part-${process.pid}.tmp`;
  try {
    const started = Date.now();
    writeRandomGguf(base, fixtureSpec(opts, vocab, gguf.kv), opts.seed, gguf);
    quantizeGguf(quantizer, base, partial, opts.ftype, { nthread: 2, verbose: opts.verbose });
    renameSync(partial, out);
    process.stderr.write(`make-fixture: wrote ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  } finally {
    rmSync(base, { force: true });
    rmSync(partial, { force: true });
  }
  process.stdout.write(`${out}\n`);
}

main(process.argv.slice(2)).catch((e) => {
  const known = e instanceof FixtureArgError || e instanceof FixtureError || e instanceof QuantizeError;
  process.stderr.write(`make-fixture: ${known ? e.message : (e?.stack ?? String(e))}\n`);
  process.exit(known && e instanceof FixtureArgError ? 2 : 1);
});
