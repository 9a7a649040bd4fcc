#!/usr/bin/env node
// metal-traffic.mjs — memory traffic of the Metal kernels on paper: runs a
// model through the MSL emulator (tools/metal-emu) with FERRUM_EMU_TRAFFIC
// set for ONE decode step, so every device-buffer load and store of every
// dispatch is counted, and compares the total with the bytes the step must
// touch (weights used + KV rows read + activations in/out).
//   node scripts/metal-traffic.mjs                 # TinyLlama-shape Q4_K_M fixture, 2 layers
//   node scripts/metal-traffic.mjs model.gguf [--prompt N] [--json]
// Must-touch per binding: what the dispatch's params describe (its extent,
// as the op's bounds check computes it) once, twice for a binding read and
// written (in place); except the KV cache (attention reads n_kv = pos + 1
// rows of each of K and V, the KV store writes one row) and get_rows's table
// (one row per token).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const json = args.includes('--json');
const promptLen = Number(flag('--prompt', '4'));
let model = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1] === '--prompt'));

function run(cmd, cmdArgs) {
  const r = spawnSync(process.execPath, [join(root, cmd), ...cmdArgs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} failed`);
  return r.stdout.trim();
}
if (!model) {
  model = run('scripts/make-fixture.mjs', ['--arch', 'llama', '--layers', '2', '--dim', '2048', '--ff', '5632', '--heads', '32',
    '--kv-heads', '4', '--type', 'Q4_K_M']).split('\n').pop();
}
// the emulator library, built as test/helpers/metal-emu.ts builds it
run('scripts/build-metal-emu.mjs', []);
process.env.FERRUM_METAL_LIB = join(root, 'build/metal-emu/libferrum_metalemu.so');

const { Engine } = await import(new URL('../dist/model/engine.js', import.meta.url).href);
const nCtx = 64;
const e = Engine.load(model, { backend: 'metal', nCtx, batch: promptLen, threads: 1 });
const prompt = Array.from({ length: promptLen }, (_, i) => 1 + ((i * 7919) % (e.hp.nVocab - 1)));
const trafficPath = join(tmpdir(), `ferrum-traffic-${process.pid}.jsonl`);
rmSync(trafficPath, { force: true });
let records, seconds;
try {
  e.eval(prompt, 0);
  process.env.FERRUM_EMU_TRAFFIC = trafficPath;
  const t0 = performance.now();
  e.eval([2], promptLen); // ONE decode step, counted
  seconds = (performance.now() - t0) / 1000;
  delete process.env.FERRUM_EMU_TRAFFIC;
  if (!existsSync(trafficPath)) throw new Error('no traffic recorded: is the emulator library current?');
  records = readFileSync(trafficPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
} finally {
  delete process.env.FERRUM_EMU_TRAFFIC;
  rmSync(trafficPath, { force: true });
  e.close();
}

/** bytes this dispatch must touch, per binding */
function mustTouch(r) {
  return r.bindings.map((b) => {
    const P = r.params; // ferrum_params.h, as 32-bit words
    // attention reads rows 0..pos0+n_tokens-1 of K and V (fr_attn_params: n_tokens [3], pos0 [4], n_ctx [5])
    if (/^kernel_attn_/.test(r.kernel) && (b.name === 'k_cache' || b.name === 'v_cache')) return (b.bytes / P[5]) * (P[4] + P[3]);
    // the KV store writes n_tokens rows (fr_kv_store_params: n_tokens [1], n_ctx [3])
    if (/^kernel_cpy_f32_/.test(r.kernel) && b.name === 'cache') return (b.bytes / P[3]) * P[1];
    // get_rows reads n_rows rows of row_bytes (fr_get_rows_params: n_rows [1], row_bytes [3])
    if (/^kernel_get_rows_/.test(r.kernel) && b.name === 'table') return P[1] * P[3];
    return b.bytes * ((b.read > 0 ? 1 : 0) + (b.written > 0 ? 1 : 0));
  });
}
const perKernel = new Map();
let total = 0, must = 0;
for (const r of records) {
  const m = mustTouch(r);
  const k = perKernel.get(r.kernel) ?? { kernel: r.kernel, dispatches: 0, read: 0, written: 0, must: 0, bindings: {} };
  k.dispatches++;
  r.bindings.forEach((b, i) => {
    k.read += b.read;
    k.written += b.written;
    k.must += m[i];
    const kb = (k.bindings[b.name] ??= { read: 0, written: 0, must: 0 });
    kb.read += b.read;
    kb.written += b.written;
    kb.must += m[i];
  });
  perKernel.set(r.kernel, k);
  total += r.bindings.reduce((s, b) => s + b.read + b.written, 0);
  must += m.reduce((s, x) => s + x, 0);
}
const rows = [...perKernel.values()].sort((a, b) => b.read + b.written - (a.read + a.written));
const result = { model, prompt: promptLen, n_kv: promptLen + 1, decode_seconds: +seconds.toFixed(2), dispatches: records.length, traffic_bytes: total, must_touch_bytes: must, ratio: total / must, kernels: rows };
if (json) {
  console.log(JSON.stringify(result, null, 1));
} else {
  const mb = (x) => (x / 1e6).toFixed(3);
  console.log(`model ${model}\none decode step after a ${promptLen}-token prompt (n_kv ${promptLen + 1}), ${records.length} dispatches, ${seconds.toFixed(1)} s under the emulator\n`);
  console.log('| kernel | dispatches | read MB | written MB | must touch MB | ratio | excess: binding, MB over its must-touch |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const k of rows) {
    const over = ([, b]) => b.read + b.written - b.must;
    const worst = Object.entries(k.bindings).sort((a, b) => over(b) - over(a))[0];
    const w = worst && over(worst) > 0 ? `${worst[0]} +${mb(over(worst))}` : '-';
    console.log(`| ${k.kernel} | ${k.dispatches} | ${mb(k.read)} | ${mb(k.written)} | ${mb(k.must)} | ${((k.read + k.written) / k.must).toFixed(3)} | ${w} |`);
  }
  const sum = (f) => rows.reduce((s, k) => s + f(k), 0);
  console.log(`| **total** | ${records.length} | ${mb(sum((k) => k.read))} | ${mb(sum((k) => k.written))} | ${mb(must)} | **${(total / must).toFixed(3)}** | |`);
  console.log(`\ntraffic ${mb(total)} MB / must touch ${mb(must)} MB = ${(total / must).toFixed(3)}`);
}
