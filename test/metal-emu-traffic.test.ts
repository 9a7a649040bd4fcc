import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../src/backend/device.js';
import { MUL_MV_ROWS } from '../src/backend/metal-geometry.js';
import { OpBuilder } from '../src/backend/op-builder.js';
import { type Binding, Slot } from '../src/backend/plan.js';
import { GgmlType } from '../src/gguf/index.js';
import { Engine } from '../src/model/engine.js';
import { metalEmuLibrary } from './helpers/metal-emu.js';
import { SeededRandom } from './helpers/random.js';
import { REPO_ROOT } from './helpers/shared.js';

/**
 * The emulator's traffic counter (FERRUM_EMU_TRAFFIC, tools/metal-emu): the
 * bytes each dispatch loads from and stores to each device binding, exact
 * where the kernel's access pattern makes them exact — mul_mv reads each
 * weight byte once, x once per threadgroup of MUL_MV_ROWS rows, writes dst
 * once. scripts/metal-traffic.mjs reports the same for a whole decode step.
 */
const lib = metalEmuLibrary();
const d = lib ? describe : describe.skip;

interface Record { kernel: string; grid: number[]; params: number[]; bindings: { name: string; bytes: number; read: number; written: number }[] }

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ferrum-traffic-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `f` with counting on; the records it produced. */
function counted(f: () => void): Record[] {
  const path = join(dir, `t${Math.random().toString(36).slice(2)}.jsonl`);
  process.env.FERRUM_EMU_TRAFFIC = path;
  try {
    f();
  } finally {
    delete process.env.FERRUM_EMU_TRAFFIC;
  }
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record);
}
const binding = (r: Record, name: string) => r.bindings.find((b) => b.name === name)!;

d('Metal emulator traffic counter', () => {
  it('one mul_mv q4_K dispatch: weights, x and dst bytes exactly; results unchanged by counting', () => {
    const rnd = new SeededRandom(99);
    const dev = Device.open('metal', 1);
    try {
      const upload = (u8: Uint8Array): Binding => {
        const h = dev.newBuffer(u8.length);
        dev.contents(h).set(u8);
        return { buffer: h, offset: 0 };
      };
      // 64 x 512 (one threadgroup), then 130 x 2304 over 2 tokens (two threadgroups per token, the second
      // partial; x staged in two chunks, the second partial)
      for (const [nRows, cols, t] of [[64, 512, 1], [130, 2304, 2]] as const) {
        const rowBytes = (cols / 256) * 144;
        const w = new Uint8Array(nRows * rowBytes);
        for (let i = 0; i < w.length; i++) w[i] = Math.floor(rnd.uniform() * 256);
        const dv = new DataView(w.buffer);
        for (let b = 0; b < w.length / 144; b++) { dv.setUint16(b * 144, 0x1400, true); dv.setUint16(b * 144 + 2, 0x1000, true); }
        const x = Float32Array.from({ length: t * cols }, () => rnd.normal());
        const wb = upload(w), xb = upload(new Uint8Array(x.buffer)), out = upload(new Uint8Array(t * nRows * 4));
        const out2 = upload(new Uint8Array(t * nRows * 4));
        const run = (dst: Binding): void => {
          const b = new OpBuilder(dev, { [Slot.NTokens]: t + 2, [Slot.Pos0]: 64, [Slot.NOut]: 1 });
          b.mulMat({ ...wb, type: GgmlType.Q4_K, rowBytes }, xb, dst, cols, nRows, { slot: Slot.NTokens, scale: 1 });
          for (const op of b.ops) dev.dispatch(op, [t, 0, 0, 0], true);
        };
        run(out2); // uncounted
        const [r, ...rest] = counted(() => run(out));
        expect(rest).toHaveLength(0);
        expect(r!.kernel).toBe('kernel_mul_mv_q4_K_f32');
        const tgs = Math.ceil(nRows / MUL_MV_ROWS);
        expect(binding(r!, 'W')).toMatchObject({ bytes: nRows * rowBytes, read: t * nRows * rowBytes, written: 0 });
        expect(binding(r!, 'x')).toMatchObject({ read: t * tgs * cols * 4, written: 0 });
        expect(binding(r!, 'dst')).toMatchObject({ read: 0, written: t * nRows * 4 });
        const a = new Float32Array(dev.contents(out.buffer).slice().buffer), b2 = new Float32Array(dev.contents(out2.buffer).slice().buffer);
        expect(Array.from(a)).toEqual(Array.from(b2));
        expect(a.some((v) => v !== 0)).toBe(true);
      }
    } finally {
      dev.close();
    }
  });

  it('one decode step of tolstoy-tiny-Q8_0: every matmul reads its weights once, attention its K/V rows once', () => {
    const e = Engine.load(resolve(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf'), { backend: 'metal', nCtx: 16, batch: 3, threads: 1 });
    let records: Record[];
    try {
      e.eval([1, 450, 114], 0);
      records = counted(() => e.eval([310], 3));
    } finally {
      e.close();
    }
    const mv = records.filter((r) => r.kernel.startsWith('kernel_mul_mv_'));
    expect(mv.length).toBeGreaterThan(0);
    let traffic = 0, must = 0;
    for (const r of mv) {
      const [w, x, dst] = [binding(r, 'W'), binding(r, 'x'), binding(r, 'dst')];
      expect(w.read, r.kernel).toBe(w.bytes); // n_rows * row_bytes: each weight byte once
      expect(w.written).toBe(0);
      expect(x.read, r.kernel).toBe(Math.ceil(dst.bytes / 4 / MUL_MV_ROWS) * x.bytes); // once per threadgroup
      expect(dst).toMatchObject({ read: 0, written: dst.bytes });
      traffic += w.read + x.read + dst.written;
      must += w.bytes + x.bytes + dst.bytes;
    }
    // attention (one threadgroup per KV head) reads the 4 cached rows of K and V and q exactly once
    const attn = records.filter((r) => r.kernel === 'kernel_attn_f16');
    expect(attn.length).toBeGreaterThan(0);
    for (const r of attn) {
      for (const name of ['k_cache', 'v_cache']) expect(binding(r, name).read, name).toBe((binding(r, name).bytes / 16) * 4);
      expect(binding(r, 'q').read).toBe(binding(r, 'q').bytes);
      expect(binding(r, 'dst')).toMatchObject({ read: 0, written: binding(r, 'dst').bytes });
    }
    console.log(`tolstoy-tiny-Q8_0 decode step: mul_mv traffic / must touch = ${(traffic / must).toFixed(3)}`);
  });
});
