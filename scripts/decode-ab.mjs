#!/usr/bin/env node
// Decode steps at a depth from two builds, taking turns in one run: each
// side is a ferrum tree (its dist/ and native library) or TREE@LIBRARY (a
// CPU library given as FERRUM_CPU_LIB). Both load the model, fill the
// context with DEPTH tokens (untimed), then take turns running 8 decode
// steps at positions DEPTH.. until each has run ROUNDS turns; the median
// step time of each and their ratio are printed. Turns of a few hundred
// milliseconds put both sides in the same memory phase on a shared machine,
// where separate runs minutes apart differ by 10-20%; changes that cannot
// alternate inside one process (a cache layout) are compared this way.
//
//   node scripts/decode-ab.mjs MODEL.gguf DEPTH ROUNDS OLD_TREE[@LIB] NEW_TREE[@LIB]
//
// e.g. `git worktree add /tmp/old HEAD~1`, then build it there (`npm run
// build`, or link node_modules and run `node scripts/build-native.mjs` and
// `npx tsc`), and `node scripts/decode-ab.mjs model.gguf 4096 20 /tmp/old .`
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const STEPS_A_TURN = 8;

function fail(msg) {
  console.error(`decode-ab: ${msg}`);
  process.exit(1);
}

/** One side: load, fill, then a turn of decode steps per "go" line; step times back as a JSON line. */
async function child(tree, model, depth) {
  const { Engine } = await import(pathToFileURL(resolve(tree, 'dist/model/engine.js')).href);
  const e = Engine.load(model, { threads: 0, nCtx: depth + STEPS_A_TURN, batch: 512 });
  const vocab = e.hp.nVocab;
  e.eval(Array.from({ length: depth }, (_, i) => (i * 7919) % vocab), 0);
  process.stdout.write('ready\n');
  let turn = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'go') break;
    const times = [];
    for (let i = 0; i < STEPS_A_TURN; i++) {
      const t0 = performance.now();
      e.eval([(i * 31 + turn) % vocab], depth + i);
      times.push(performance.now() - t0);
    }
    turn++;
    process.stdout.write(`${JSON.stringify(times)}\n`);
  }
  process.exit(0);
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

async function main(argv) {
  if (argv[0] === '--child') return child(argv[1], argv[2], Number(argv[3]));
  if (argv.length !== 5 || argv.includes('-h') || argv.includes('--help')) {
    console.log('usage: node scripts/decode-ab.mjs MODEL.gguf DEPTH ROUNDS OLD_TREE[@LIB] NEW_TREE[@LIB]');
    process.exit(argv.length === 5 ? 0 : 1);
  }
  const [model, depthArg, roundsArg, ...specs] = argv;
  const depth = Number(depthArg), rounds = Number(roundsArg);
  if (!existsSync(model)) fail(`${model}: no such file`);
  if (!Number.isInteger(depth) || depth < 0) fail(`DEPTH must be a whole number, got ${depthArg}`);
  if (!Number.isInteger(rounds) || rounds < 1) fail(`ROUNDS must be a positive whole number, got ${roundsArg}`);
  const self = fileURLToPath(import.meta.url);
  for (const spec of specs) {
    const [tree, lib] = spec.split('@');
    if (!existsSync(resolve(tree, 'dist/model/engine.js'))) fail(`${tree}: no dist/model/engine.js (build that tree first)`);
    if (lib !== undefined && !existsSync(lib)) fail(`${lib}: no such library`);
  }
  const sides = specs.map((spec) => {
    const [tree, lib] = spec.split('@');
    const env = lib ? { ...process.env, FERRUM_CPU_LIB: resolve(lib) } : process.env;
    const proc = spawn(process.execPath, [self, '--child', resolve(tree), resolve(model), String(depth)], { stdio: ['pipe', 'pipe', 'inherit'], env });
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const next = async () => {
      const r = await lines.next();
      if (r.done) fail(`${spec}: the engine exited`);
      return r.value;
    };
    return { spec, proc, next, times: [] };
  });
  for (const s of sides) await s.next();
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < sides.length; j++) {
      const s = sides[(j + r) % sides.length]; // who goes first alternates
      s.proc.stdin.write('go\n');
      s.times.push(...JSON.parse(await s.next()));
    }
  }
  for (const s of sides) s.proc.stdin.write('stop\n');
  for (const s of sides) {
    const mean = s.times.reduce((a, b) => a + b, 0) / s.times.length;
    console.log(`${s.spec}: median ${median(s.times).toFixed(2)} ms, mean ${mean.toFixed(2)} ms a step over ${s.times.length} steps`);
  }
  console.log(`new / old, medians: ${(median(sides[1].times) / median(sides[0].times)).toFixed(3)}`);
}

await main(process.argv.slice(2));
