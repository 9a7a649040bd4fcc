#!/usr/bin/env node
// Shows that `ferrum inspect` costs the same for a 5 MB and a 5 GB model:
// only the header is read. Writes sparse files (no disk cost), then parses
// each in a fresh process and reports wall time, bytes read and peak RSS.
//   node scripts/bench-inspect.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = new URL('../dist/gguf/index.js', import.meta.url).href;

if (process.argv[2] === '--child') {
  const { readGguf } = await import(dist);
  const t0 = performance.now();
  const f = readGguf(process.argv[3]);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, headerBytesRead: f.headerBytesRead, fileSize: f.fileSize, maxRssKiB: process.resourceUsage().maxRSS }));
  process.exit(0);
}

const { writeGguf, kv, GgmlType } = await import(dist);
const dir = mkdtempSync(join(tmpdir(), 'ferrum-bench-inspect-'));
const rows = [];
for (const nRows of [800, 80_000, 800_000]) {
  const path = join(dir, `m${nRows}.gguf`);
  writeGguf(path, {
    metadata: [['general.architecture', kv.str('llama')]],
    tensors: [
      { name: 'token_embd.weight', dims: [4096, nRows], type: GgmlType.Q4_K },
      { name: 'output.weight', dims: [4096, nRows], type: GgmlType.Q8_0 },
    ],
  });
  const runs = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', path], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    runs.push(JSON.parse(r.stdout));
  }
  runs.sort((a, b) => a.ms - b.ms);
  const med = runs[2];
  rows.push({ fileSize: med.fileSize, parseMs: med.ms, headerBytesRead: med.headerBytesRead, maxRssMiB: med.maxRssKiB / 1024 });
}
rmSync(dir, { recursive: true, force: true });
console.log('| file size | parse (median of 5) | bytes read | peak RSS of the process |');
console.log('|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${(r.fileSize / 2 ** 30).toFixed(3)} GiB | ${r.parseMs.toFixed(2)} ms | ${r.headerBytesRead} | ${r.maxRssMiB.toFixed(1)} MiB |`);
}
