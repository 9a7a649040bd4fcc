// check-swift-e2e.mjs — run by scripts/check-swift-build.sh (under trixie's
// loader, FERRUM_METAL_LIB = the Swift shim built on Linux, FERRUM_STANDIN_EMU
// = the MSL emulator behind the stand-in Metal): models/tolstoy-tiny-Q8_0.gguf,
// a 9-token prefill then 8 decode steps (plan replays) through the Swift shim,
// against the CPU executor: the same greedy token every step, logits close.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Engine } = await import(join(root, 'dist/model/engine.js'));
const model = join(root, 'models/tolstoy-tiny-Q8_0.gguf');
const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
const opts = { nCtx: 32, batch: 9, threads: 1 };
const cpu = Engine.load(model, { ...opts, backend: 'cpu' });
const metal = Engine.load(model, { ...opts, backend: 'metal' });
if (!/MSL emulator/.test(metal.device.name)) {
  console.error(`check-swift: e2e: the metal device is "${metal.device.name}", not the Swift shim over the emulator`);
  process.exit(1);
}
let pos = 0;
let batch = [1, 450, 114, 310, 278, 186, 338, 263, 178];
let worst = 0;
for (let k = 0; k <= 8; k++) {
  const want = cpu.eval(batch, pos)[0];
  const got = metal.eval(batch, pos)[0];
  if (argmax(got) !== argmax(want)) {
    console.error(`check-swift: e2e: step ${k}: Swift shim greedy token ${argmax(got)}, CPU ${argmax(want)}`);
    process.exit(1);
  }
  got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[i]))));
  pos += batch.length;
  batch = [argmax(want)];
}
const name = metal.device.name;
metal.close();
cpu.close();
if (!(worst < 1.5)) {
  console.error(`check-swift: e2e: worst |logit diff| vs CPU ${worst}`);
  process.exit(1);
}
console.log(`check-swift: ok   e2e: tolstoy-tiny-Q8_0 through the Swift shim (stand-in Metal -> MSL emulator): 9 steps greedy-identical to CPU, worst |dlogit| ${worst.toExponential(2)} (device "${name}")`);
