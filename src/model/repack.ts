import type { Device } from '../backend/device.js';
import { OpBuilder } from '../backend/op-builder.js';
import { ggmlTypeInfo } from '../gguf/index.js';
import type { DenseFfn, LayerWeights, ModelWeights } from './llama-weights.js';
import type { Weight } from './weights.js';

/** Rows per repacked group (FR_R8_ROWS in native-shim/cpu/quants.h). */
export const R8_ROWS = 8;

/**
 * Bytes of one repacked block, eight rows by one weight block, for each
 * ggml type that has a repacked layout on the CPU. The layouts are defined
 * in native-shim/cpu/quants/blocks.h; test/params-layout.test.ts compares.
 */
export const R8_BLOCK_BYTES: ReadonlyMap<string, number> = new Map([
  ['Q4_K', 1152],
  ['Q6_K', 1680],
  ['Q4_0', 144],
  ['Q8_0', 272],
]);

/**
 * Copies every matrix the CPU backend would multiply fastest in a repacked
 * layout (Q4_K, Q6_K, Q4_0 and Q8_0: their AVX2 kernels run 8 rows x 4
 * tokens per call with no horizontal sums) into new buffers, once at load. Embedding tables keep the
 * file's layout for get_rows; where the output is tied to token_embd, the
 * output gets its own repacked copy.
 * `alloc` owns the buffers (freed with the engine).
 */
export function repackModelWeights(device: Device, mw: ModelWeights, alloc: (bytes: number) => number): ModelWeights {
  const done = new Map<Weight, Weight>();
  const one = (w: Weight): Weight => {
    const prev = done.get(w);
    if (prev) return prev;
    const r = repackWeight(device, w, alloc);
    done.set(w, r);
    return r;
  };
  const dense = (f: DenseFfn): DenseFfn => ({ ...f, gate: one(f.gate), up: one(f.up), down: one(f.down) });
  const layers = mw.layers.map((l): LayerWeights => ({
    ...l, q: one(l.q), k: one(l.k), v: one(l.v), o: one(l.o),
    ffn: l.ffn.kind === 'dense' ? dense(l.ffn) : { ...l.ffn, ...(l.ffn.shared ? { shared: dense(l.ffn.shared) } : {}) },
  }));
  return { ...mw, layers, output: one(mw.output) };
}

/** The weight repacked, or itself where its type has no repacked layout or its shape does not fit one. */
export function repackWeight(device: Device, w: Weight, alloc: (bytes: number) => number): Weight {
  const info = ggmlTypeInfo(w.type);
  const blockBytes = info && R8_BLOCK_BYTES.get(info.name);
  const [nCols = 0, nRows = 0, ...rest] = w.dims;
  if (!info || blockBytes === undefined || w.layout !== undefined) return w;
  const blockElems = info.blockSize;
  if (rest.some((d) => d !== 1) || nRows % R8_ROWS !== 0 || nCols % blockElems !== 0) return w;
  const rowBytes = (nCols / blockElems) * (blockBytes / R8_ROWS);
  const buffer = alloc(rowBytes * nRows);
  const b = new OpBuilder(device);
  b.repack(w, { buffer, offset: 0 }, nCols, nRows, blockBytes);
  for (const op of b.ops) device.dispatch(op, [0, 0, 0, 0], true);
  return { ...w, buffer, offset: 0, rowBytes, layout: 'r8' };
}
