import { Device, type Plan } from '../backend/device.js';
import type { ExecutorKind } from '../backend/native-lib.js';
import { OpBuilder, type KvType } from '../backend/op-builder.js';
import { type Binding, type OpRecord, Slot, type Slots } from '../backend/plan.js';
import { UserError } from '../cli/user-error.js';
import { readGguf, type GgufFile } from '../gguf/index.js';
import { type HParams, readHParams } from './hparams.js';
import { buildLlamaGraph, type StepBuffers } from './llama-graph.js';
import { loadLlamaWeights } from './llama-weights.js';
import { repackModelWeights } from './repack.js';
import { readProfileEnv } from '../profile/env.js';
import { Weights } from './weights.js';

export interface EngineOptions {
  readonly backend: ExecutorKind;
  /** Worker threads; 0 = one per core. */
  readonly threads: number;
  readonly nCtx: number;
  /** Most tokens evaluated in one step (prefill chunk). */
  readonly batch: number;
  readonly kvType: KvType;
  /** Most rows of logits one step can return (1 unless every position's logits are wanted). */
  readonly maxOutputs: number;
  /** One FFI call per op instead of one per step (profiling, debugging). */
  readonly eager?: boolean;
  /** With eager: called after each op with its time (FERRUM_PROFILE / FERRUM_TRACE). */
  readonly onOp?: (op: OpRecord, step: number, startMs: number, endMs: number) => void;
  /** CPU: repack weights whose type has a faster layout (repack.ts); default FERRUM_REPACK, else on. */
  readonly repack?: boolean;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  backend: 'cpu', threads: 0, nCtx: 2048, batch: 512, kvType: 'f16', maxOutputs: 1,
};

export function kvRowBytes(kv: KvType, nCols: number): number {
  if (kv === 'f32') return nCols * 4;
  if (kv === 'f16') return nCols * 2;
  return (nCols / 32) * 34;
}

/**
 * A loaded model ready to evaluate tokens: weights mapped (never copied),
 * activation and KV buffers allocated once, and two plans — one for a batch
 * of up to `batch` tokens, one for single-token decode — replayed per step.
 */
export class Engine {
  private step = 0;
  /** Single-token (decode) steps run, and the time spent inside their native calls (plan replay or eager dispatches). */
  readonly decodeStats = { steps: 0, nativeMs: 0 };
  private readonly idsView: Int32Array;
  private readonly outIdsView: Int32Array;
  private readonly logitsView: Float32Array;
  private readonly buffers: number[] = [];
  private readonly plans: { batch: Plan | OpRecord[]; decode: Plan | OpRecord[] };

  private constructor(
    readonly file: GgufFile,
    readonly hp: HParams,
    readonly device: Device,
    readonly options: EngineOptions,
    private readonly map: number,
    private readonly weights: Weights,
  ) {
    const { batch, nCtx, kvType, maxOutputs } = options;
    const qDim = hp.nHead * hp.headDim;
    const kvDim = hp.nHeadKV * hp.headDim;
    // the cache is head-major (metal/ferrum_params.h): each head's row whole q8_0 blocks
    if (kvType === 'q8_0' && hp.headDim % 32 !== 0) throw new UserError(`--kv-type q8_0 needs a head size that is a multiple of 32 (this model: ${hp.headDim})`);
    const alloc = (bytes: number): Binding => {
      const h = device.newBuffer(Math.max(bytes, 16));
      this.buffers.push(h);
      return { buffer: h, offset: 0 };
    };
    const f32 = (cols: number, rows = batch): Binding => alloc(cols * rows * 4);
    const kvBytes = kvRowBytes(kvType, kvDim) * nCtx;
    const ids = alloc(batch * 4);
    const outIds = alloc(maxOutputs * 4);
    const logits = f32(hp.nVocab, maxOutputs);
    // A MoE model's dense gate/up only ever hold the shared experts.
    const nFFDense = hp.nExpert > 0 ? hp.nFFShexp : hp.nFF;
    const nUsed = hp.nExpertUsed;
    const moe = hp.nExpert > 0 ? {
      logits: f32(hp.nExpert), probs: f32(hp.nExpert), ids: alloc(batch * nUsed * 4), weights: f32(nUsed),
      gate: f32(nUsed * hp.nFFExp), up: f32(nUsed * hp.nFFExp), out: f32(nUsed * hp.nEmbd), shared: f32(hp.nFFShexp > 0 ? hp.nEmbd : 0),
    } : undefined;
    const bufs: StepBuffers = {
      ids, outIds, logits, moe,
      x: f32(hp.nEmbd), xn: f32(hp.nEmbd), q: f32(qDim), k: f32(kvDim), v: f32(kvDim), attn: f32(qDim),
      tmp: f32(hp.nEmbd), gate: f32(nFFDense), up: f32(nFFDense), xOut: f32(hp.nEmbd, maxOutputs),
      kCache: Array.from({ length: hp.nLayer }, () => alloc(kvBytes)),
      vCache: Array.from({ length: hp.nLayer }, () => alloc(kvBytes)),
    };
    this.idsView = new Int32Array(device.contents(ids.buffer).buffer, 0, batch);
    this.outIdsView = new Int32Array(device.contents(outIds.buffer).buffer, 0, maxOutputs);
    const lb = device.contents(logits.buffer);
    this.logitsView = new Float32Array(lb.buffer, lb.byteOffset, hp.nVocab * maxOutputs);

    const loaded = loadLlamaWeights(weights, hp);
    const repack = device.kind === 'cpu' && (options.repack ?? readProfileEnv().repack);
    const mw = repack ? repackModelWeights(device, loaded, (bytes) => alloc(bytes).buffer) : loaded;
    const build = (tokens: number, prefill: boolean): OpRecord[] => {
      const b = new OpBuilder(device, { [Slot.NTokens]: tokens, [Slot.NOut]: Math.min(maxOutputs, tokens), [Slot.Pos0]: nCtx }, prefill);
      buildLlamaGraph(b, hp, mw, bufs, { batch, nCtx, kvType });
      return b.ops;
    };
    const upload = (o: OpRecord[]): Plan | OpRecord[] => (options.eager ? o : device.uploadPlan(o));
    // The CPU executor runs one op list for any batch size. A GPU gets two:
    // matrix-vector kernels with one-token grids for decode, matrix-matrix
    // kernels with grids for the whole batch for prefill.
    if (device.kind === 'metal' && batch > 1) {
      this.plans = { batch: upload(build(batch, true)), decode: upload(build(1, false)) };
    } else {
      const plan = upload(build(batch, false));
      this.plans = { batch: plan, decode: plan };
    }
  }

  static load(path: string, opts: Partial<EngineOptions> = {}): Engine {
    const options = { ...DEFAULT_ENGINE_OPTIONS, ...opts };
    const file = readGguf(path);
    const hp = readHParams(file);
    if (!(options.nCtx >= 1)) throw new UserError(`context size must be at least 1 (got ${options.nCtx})`);
    if (!(options.batch >= 1)) throw new UserError(`batch size must be at least 1 (got ${options.batch})`);
    const device = Device.open(options.backend, options.threads);
    let map = 0;
    try {
      const kvDim = hp.nHeadKV * hp.headDim;
      const kvBytes = 2 * hp.nLayer * kvRowBytes(options.kvType, kvDim) * options.nCtx;
      const mem = device.memory;
      if (mem > 0 && kvBytes + file.fileSize > mem) {
        throw new UserError(`not enough memory: the model (${(file.fileSize / 2 ** 30).toFixed(2)} GiB) and a ${options.nCtx}-token KV cache (${(kvBytes / 2 ** 30).toFixed(2)} GiB) exceed ${(mem / 2 ** 30).toFixed(2)} GiB; use a smaller context`);
      }
      map = device.mapFile(path);
      const weights = new Weights(device, file, map);
      return new Engine(file, hp, device, options, map, weights);
    } catch (e) {
      device.close();
      throw e;
    }
  }

  /** Runs one step; returns the milliseconds spent inside native calls. */
  private runStep(plan: Plan | OpRecord[], slots: Slots): number {
    let nativeMs = 0;
    if (Array.isArray(plan)) {
      const ops = plan;
      for (const op of ops) {
        const t0 = performance.now();
        this.device.dispatch(op, slots, true);
        const t1 = performance.now();
        nativeMs += t1 - t0;
        this.options.onOp?.(op, this.step, t0, t1);
      }
    } else {
      const t0 = performance.now();
      plan.run(slots);
      nativeMs = performance.now() - t0;
    }
    this.step++;
    return nativeMs;
  }

  /**
   * Evaluate `tokens` at positions pos0.. and return the logits of the rows
   * asked for (`outputs`: indices into tokens, default the last), each a
   * fresh Float32Array of n_vocab. Tokens go in batches of `batch`.
   */
  eval(tokens: readonly number[], pos0: number, outputs: readonly number[] = [tokens.length - 1]): Float32Array[] {
    if (tokens.length === 0) return [];
    this.checkTokens(tokens, pos0);
    const { batch, maxOutputs } = this.options;
    const wanted = new Set(outputs);
    const result: Float32Array[] = [];
    let i = 0;
    while (i < tokens.length) {
      // Never ask a step for more logits rows than the buffer holds.
      let n = Math.min(batch, tokens.length - i);
      let outs = [...wanted].filter((o) => o >= i && o < i + n).sort((a, b) => a - b);
      if (outs.length > maxOutputs) {
        n = outs[maxOutputs]! - i;
        outs = outs.slice(0, maxOutputs);
      }
      this.evalStep(tokens.slice(i, i + n), pos0 + i, outs.map((o) => o - i));
      for (let k = 0; k < outs.length; k++) {
        result.push(this.logitsView.slice(k * this.hp.nVocab, (k + 1) * this.hp.nVocab));
      }
      i += n;
    }
    return result;
  }

  /** Validated here, before any pointer reaches native code. */
  private checkTokens(tokens: readonly number[], pos0: number): void {
    const { nCtx } = this.options;
    if (pos0 + tokens.length > nCtx) {
      throw new UserError(`the context is full: ${pos0 + tokens.length} tokens do not fit in ${nCtx} (raise --ctx-size)`);
    }
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.hp.nVocab) throw new UserError(`token id ${t} is outside the vocabulary (0..${this.hp.nVocab - 1})`);
    }
  }

  /** One step over `ids` at pos; the logits of rows `outRows` land in logitsView, in order. */
  private evalStep(ids: readonly number[], pos: number, outRows: readonly number[]): void {
    const n = ids.length;
    this.idsView.set(ids);
    outRows.forEach((o, k) => { this.outIdsView[k] = o; });
    const nativeMs = this.runStep(n === 1 ? this.plans.decode : this.plans.batch, [n, pos, outRows.length, 0]);
    if (n === 1) {
      this.decodeStats.steps++;
      this.decodeStats.nativeMs += nativeMs;
    }
  }

  /**
   * Decode one token and return its logits as a view of the engine's own
   * buffer, valid until the next eval: what a generation loop needs. eval()
   * copies; at a 152k vocabulary that is 608 KB per token, and allocating
   * and collecting it cost more than the sampler itself.
   */
  evalNext(token: number, pos: number): Float32Array {
    this.checkTokens([token], pos);
    this.evalStep([token], pos, [0]);
    return this.logitsView.subarray(0, this.hp.nVocab);
  }

  close(): void {
    for (const p of new Set([this.plans.batch, this.plans.decode])) if (!Array.isArray(p)) p.free();
    this.weights.release();
    for (const b of this.buffers.splice(0)) this.device.freeBuffer(b);
    this.device.closeMap(this.map);
    this.device.close();
  }
}
