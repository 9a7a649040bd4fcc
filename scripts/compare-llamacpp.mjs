#!/usr/bin/env node
// ferrum against llama.cpp (node-llama-cpp's CPU build) on any GGUF:
// teacher-forced next-token top-1 agreement and logit differences over N
// positions of seeded random tokens, near-ties (< --tie, default 0.05) set
// aside and counted. For models too big for the test suite.
//   npx tsc -p tsconfig.json && node scripts/compare-llamacpp.mjs model.gguf [--positions 256] [--seed 1] [--batch 512]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const model = args.find((a) => !a.startsWith('--') && !/^\d/.test(a));
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
if (!model) {
  console.error('usage: node scripts/compare-llamacpp.mjs model.gguf [--positions 256] [--seed 1] [--batch 512] [--tie 0.05]');
  process.exit(1);
}
const positions = opt('positions', 256);
const seed = opt('seed', 1);
const batch = opt('batch', 512);
const tie = opt('tie', 0.05);
const { Engine } = await import(new URL('../dist/model/engine.js', import.meta.url).href);
const { agreement } = await import(new URL('../dist/eval/logit-agreement.js', import.meta.url).href);

const e = Engine.load(model, { nCtx: positions, batch, maxOutputs: Math.min(batch, positions), threads: 0 });
const nVocab = e.hp.nVocab;
let s = seed >>> 0;
const tokens = [];
while (tokens.length < positions) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  tokens.push(3 + ((s >>> 8) % (nVocab - 3)));
}
const t0 = performance.now();
const ours = e.eval(tokens, 0, tokens.map((_, i) => i));
const ferrumMs = performance.now() - t0;
e.close();

const dir = mkdtempSync(join(tmpdir(), 'ferrum-compare-'));
const out = join(dir, 'logits.f32');
const r = spawnSync(process.execPath, [new URL('./fixture/llamacpp-logits.mjs', import.meta.url).pathname,
  JSON.stringify({ model, tokens, positions: 'all', out })], { encoding: 'utf8', maxBuffer: 1 << 24 });
const reply = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
if (!reply.ok) {
  console.error(`llama.cpp failed: ${reply.error ?? r.stderr}`);
  process.exit(1);
}
const bytes = readFileSync(out);
rmSync(dir, { recursive: true, force: true });
const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
const peer = Array.from({ length: reply.rows }, (_, i) => flat.subarray(i * reply.nVocab, (i + 1) * reply.nVocab));
const a = agreement(ours, peer, tie);
console.log(JSON.stringify({
  model, positions, tie_gap: tie, decided: a.positions - a.setAside, set_aside: a.setAside, agree: a.agree,
  top1_agreement: Number(a.rate.toFixed(4)), mean_abs_logit_diff: a.meanAbsDiff, max_abs_logit_diff: a.maxAbsDiff,
  disagreements: a.disagreements, ferrum_ms: Math.round(ferrumMs),
}));
