#!/usr/bin/env node
// Cost of one Sampler.sample() call, per vocabulary size and parameter set.
// Runs against dist/ (build first: npx tsc -p tsconfig.json).
//   node scripts/bench-sampling.mjs [--samples N]
//
// Logits are "realistic": a Gaussian bulk (σ = 2.5) plus a handful of peaked
// tokens 10–20 nats above it, as a language model's next-token logits look;
// 16 such vectors are cycled so no two consecutive calls see the same one.
// The "flat" row is the worst case for top-p without top-k: pure Gaussian
// logits, where the 0.95 nucleus holds most of the vocabulary.
import { cpus, loadavg } from 'node:os';
import { Sampler, LLAMA_CPP_DEFAULTS, samplingParams } from '../dist/sampling/index.js';

const argv = process.argv.slice(2);
const samplesArg = argv.indexOf('--samples');
const SAMPLES = samplesArg >= 0 ? Number(argv[samplesArg + 1]) : 2000;
const WARMUP = Math.min(300, SAMPLES);
const VECTORS = 16;

function makeGauss(seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function makeLogits(nVocab, peaked, seed) {
  const g = makeGauss(seed);
  const out = [];
  for (let v = 0; v < VECTORS; v++) {
    const l = new Float32Array(nVocab);
    for (let i = 0; i < nVocab; i++) l[i] = 2.5 * g();
    if (peaked) {
      const nPeaks = 3 + (v % 6);
      for (let j = 0; j < nPeaks; j++) {
        const id = Math.floor(((g() + 4) / 8) * nVocab) % nVocab;
        l[Math.abs(id)] = 20 - 2.5 * j * Math.abs(g()) - (v % 4);
      }
    }
    out.push(l);
  }
  return out;
}

function bench(params, nVocab, vectors) {
  const sampler = new Sampler(params, nVocab);
  const recent = [];
  for (let i = 0; i < 64; i++) recent.push((i * 7919) % nVocab);
  for (let i = 0; i < WARMUP; i++) sampler.sample(vectors[i % VECTORS], recent);
  const t = new Float64Array(SAMPLES);
  let sink = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const l = vectors[i % VECTORS];
    const t0 = process.hrtime.bigint();
    sink += sampler.sample(l, recent);
    t[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  t.sort();
  const mean = t.reduce((a, b) => a + b, 0) / SAMPLES;
  const p50 = t[Math.floor(SAMPLES * 0.5)];
  const p99 = t[Math.min(SAMPLES - 1, Math.floor(SAMPLES * 0.99))];
  return { mean, p50, p99, sink };
}

const configs = [
  ['defaults (top_k 40, top_p 0.95, min_p 0.05, temp 0.8)', LLAMA_CPP_DEFAULTS, true],
  ['greedy (temp 0)', samplingParams({ temperature: 0 }), true],
  ['top_k 0 (top_p 0.95, min_p 0.05, temp 0.8)', samplingParams({ topK: 0 }), true],
  ['top_k 0, min_p 0 (top-p only)', samplingParams({ topK: 0, minP: 0 }), true],
  ['top_k 0, top_p 1, min_p 0 (full softmax)', samplingParams({ topK: 0, topP: 1, minP: 0 }), true],
  ['defaults + repeat_penalty 1.1 over 64', samplingParams({ repeatPenalty: 1.1 }), true],
  ['top_k 0, flat Gaussian logits (worst case)', samplingParams({ topK: 0 }), false],
];

const rows = [];
for (const nVocab of [32000, 151936]) {
  const peaked = makeLogits(nVocab, true, 1234);
  const flat = makeLogits(nVocab, false, 5678);
  for (const [name, params, isPeaked] of configs) {
    const r = bench({ ...params, seed: 42 }, nVocab, isPeaked ? peaked : flat);
    rows.push({ nVocab, name, ...r });
  }
}

console.log(`node scripts/bench-sampling.mjs${SAMPLES !== 2000 ? ` --samples ${SAMPLES}` : ''}`);
console.log(
  `(${SAMPLES} samples per row after ${WARMUP} warm-up; Node ${process.version}, ${process.arch}, ${cpus()[0]?.model ?? '?'} × ${cpus().length}, load average ${loadavg()[0].toFixed(2)} at the end)`,
);
console.log('');
console.log('| vocab | parameters | mean µs | p50 µs | p99 µs |');
console.log('|---:|---|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.nVocab} | ${r.name} | ${r.mean.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
}
