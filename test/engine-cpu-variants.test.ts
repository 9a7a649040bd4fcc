import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCommandFor, builtCpuVariants } from '../src/backend/cpu-library.js';
import { CPU_VARIANTS } from '../src/backend/cpu-variants.js';
import { agreement } from '../src/eval/logit-agreement.js';
import { Engine } from '../src/model/engine.js';
import { llamaCppAvailable, llamaCppLogits, makeFixture } from './helpers/llamacpp.js';
import { REPO_ROOT, sharedFile } from './helpers/shared.js';
import { seededTokens } from './helpers/teacher-forced.js';

/**
 * Every CPU library variant this machine runs (FERRUM_CPU forces each)
 * against llama.cpp, with the weights repacked and in the file's layout:
 * each variant has its own kernels for both layouts, and the portable one
 * is the fallback that must stay right though fast machines never pick it.
 * Teacher-forced top-1 as in engine-vs-llamacpp.test.ts, on small models so
 * the scalar build stays quick; prefill (batch 64) and decode (batch 1).
 */
const POSITIONS = 96;
const TIE_GAP = 0.05;
/** Q4_K_M: Q4_K + Q6_K (both repacked); Q4_0 / Q8_0: the r8 legacy kernels; F16: the f16 vector path; BF16: vdpbf16ps in avx512bf16. */
const TYPES = ['Q4_K_M', 'Q4_0', 'Q8_0', 'F16', 'BF16'];
const REPACKED = new Set(['Q4_K_M', 'Q4_0', 'Q8_0']);

const vocabFrom = sharedFile('models/tolstoy-tiny-F32.gguf');

// the libraries must exist before the tests are listed: which variants run here decides them
const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/build-native.mjs')], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(`build-native failed: ${build.stderr}`);
const built = builtCpuVariants();
const runnable = built.filter((b) => b.probe.supported).map((b) => b.variant);
for (const v of CPU_VARIANTS) {
  const b = built.find((x) => x.variant === v);
  if (!b) console.warn(`skipping CPU variant ${v} vs llama.cpp: not built here (a default build makes only what this CPU runs; \`${buildCommandFor(v)}\` builds it)`);
  else if (!b.probe.supported) console.warn(`skipping CPU variant ${v} vs llama.cpp: this CPU lacks its instruction set (fr_cpu_supported() = 0)`);
}

/** Logits after every token with FERRUM_CPU=variant, and the device name the engine reports. */
function variantLogits(variant: string, model: string, tokens: readonly number[], repack: boolean, batch: number): { logits: Float32Array[]; device: string } {
  process.env.FERRUM_CPU = variant;
  const e = Engine.load(model, { nCtx: tokens.length, batch, maxOutputs: batch, threads: 2, repack });
  try {
    return { logits: e.eval(tokens, 0, tokens.map((_, i) => i)), device: e.device.name };
  } finally {
    e.close();
  }
}

const savedCpu = process.env.FERRUM_CPU;
afterEach(() => {
  if (savedCpu === undefined) delete process.env.FERRUM_CPU;
  else process.env.FERRUM_CPU = savedCpu;
});

describe.skipIf(!vocabFrom || !llamaCppAvailable())('every CPU variant this machine runs matches llama.cpp', () => {
  it('runs portable and the best variant here', () => {
    expect(runnable).toContain('portable');
    expect(runnable[0]).toBe(built.find((b) => b.probe.supported)!.variant);
  });

  for (const type of TYPES) {
    it(`${type}: ${runnable.join(', ')} x ${REPACKED.has(type) ? 'repacked / file layout x ' : ''}prefill / decode agree with llama.cpp`, () => {
      const model = makeFixture(['--arch', 'llama', '--layers', '2', '--dim', '256', '--ff', '768', '--heads', '8', '--kv-heads', '4',
        '--vocab-from', vocabFrom!, '--type', type, '--seed', '17']);
      const tokens = seededTokens(POSITIONS, 512, 45);
      const peer = llamaCppLogits(model, tokens, { positions: 'all' }).logits;
      for (const variant of runnable) {
        for (const batch of [64, 1]) {
          const rows: Float32Array[][] = [];
          for (const repack of REPACKED.has(type) ? [true, false] : [true]) {
            const run = variantLogits(variant, model, tokens, repack, batch);
            const label = `${variant}, ${repack ? 'repacked' : 'file layout'}, batch ${batch}`;
            expect(run.device, label).toMatch(new RegExp(`^cpu ${variant} `));
            const a = agreement(run.logits, peer, TIE_GAP);
            console.log(`${type.padEnd(6)} ${label.padEnd(34)} agree ${a.agree}/${a.positions - a.setAside}, mean |dlogit| ${a.meanAbsDiff.toExponential(2)}, max ${a.maxAbsDiff.toExponential(2)}`);
            expect(a.positions - a.setAside, label).toBeGreaterThanOrEqual(POSITIONS / 2);
            expect(a.rate, label).toBeGreaterThanOrEqual(0.99);
            rows.push(run.logits);
          }
          // the two layouts run different kernels, so their float order differs somewhere
          if (REPACKED.has(type)) expect(agreement(rows[0]!, rows[1]!, 0).maxAbsDiff, `${variant} batch ${batch}: the repacked path must have run`).toBeGreaterThan(0);
        }
      }
    });
  }
});
