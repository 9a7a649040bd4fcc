#!/usr/bin/env node
// Resident memory of a loaded model: weights are mapped, never copied, so
// after loading and one evaluation RSS grows by about the file (its pages,
// once touched) plus the KV cache and activations — not twice the file.
//   node scripts/measure-memory.mjs model.gguf [--ctx 512]
import { readFileSync, statSync } from 'node:fs';

const [model, ...rest] = process.argv.slice(2);
if (!model) {
  console.error('usage: node scripts/measure-memory.mjs model.gguf [--ctx N]');
  process.exit(1);
}
const ctx = Number(rest[rest.indexOf('--ctx') + 1] ?? 512) || 512;
const { Engine, kvRowBytes } = await import(new URL('../dist/model/engine.js', import.meta.url).href);

/** Current RSS in bytes (VmRSS), which counts touched file-backed pages too. */
function rss() {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

globalThis.gc?.();
const before = rss();
const e = Engine.load(model, { nCtx: ctx, batch: 32, threads: 2 });
const tokens = Array.from({ length: 16 }, (_, i) => 1 + i);
e.eval(tokens, 0);
const after = rss();
const hp = e.hp;
const kv = 2 * hp.nLayer * kvRowBytes('f16', hp.nHeadKV * hp.headDim) * ctx;
const file = statSync(model).size;
e.close();
const grown = after - before;
const result = { model, file_bytes: file, kv_bytes: kv, rss_before: before, rss_after: after, rss_growth: grown, ratio_to_file_plus_kv: grown / (file + kv) };
console.log(JSON.stringify(result));
