import { freemem, totalmem } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { type ExecutorKind, nativeLibraryPath } from '../backend/native-lib.js';
import type { KvType } from '../backend/op-builder.js';
import { kvRowBytes } from '../model/engine.js';
import type { HParams } from '../model/hparams.js';
import { UserError } from './user-error.js';

/** commander parsers: a bad value is a one-line usage error naming the option. */
export const parseIntArg = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
  return n;
};
export const parseFloatArg = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
};
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function parseTokenList(v: string): number[] {
  const ids = v.split(/[\s,]+/).filter((s) => s !== '').map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new InvalidArgumentError('expected token ids separated by commas, e.g. 1,366,268');
  }
  return ids;
}

export function parseBackend(v: string): ExecutorKind {
  if (v !== 'cpu' && v !== 'metal') throw new InvalidArgumentError('expected cpu or metal');
  return v;
}

export function parseKvType(v: string): KvType {
  if (v !== 'f16' && v !== 'f32' && v !== 'q8_0') throw new InvalidArgumentError('expected f16, f32 or q8_0');
  return v;
}

/** Metal on Apple Silicon where its library is built, the CPU everywhere else. */
export function defaultBackend(): ExecutorKind {
  const appleSilicon = process.platform === 'darwin' && process.arch === 'arm64';
  return appleSilicon && existsSync(nativeLibraryPath('metal')) ? 'metal' : 'cpu';
}

export function checkBackendAvailable(b: ExecutorKind): void {
  if (b === 'metal' && process.platform !== 'darwin') {
    throw new UserError('the Metal backend needs macOS on Apple Silicon; use --backend cpu');
  }
}

export interface ContextChoice {
  readonly nCtx: number;
  /** Set when the model's own context had to be reduced to fit memory. */
  readonly cappedFrom?: number;
  /** Set when the user asked for more positions than the model was trained
   * on (llama.cpp warns too: positions past it are untrained, and text
   * there usually degrades). */
  readonly beyondTrain?: number;
}

/**
 * The context size: what the user asked for, else the model's trained
 * context, capped so the KV cache and weights fit in half of this machine's
 * memory (the rest is the OS's and other programs').
 */
export function chooseContext(hp: HParams, fileBytes: number, kv: KvType, requested: number | undefined): ContextChoice {
  const perToken = 2 * hp.nLayer * kvRowBytes(kv, hp.nHeadKV * hp.headDim);
  if (requested !== undefined) {
    const need = perToken * requested + fileBytes;
    if (need > totalmem()) {
      throw new UserError(`not enough memory for a ${requested}-token context: the KV cache needs ${(perToken * requested / 2 ** 30).toFixed(2)} GiB beside the ${(fileBytes / 2 ** 30).toFixed(2)} GiB model, this machine has ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
    }
    return requested > hp.nCtxTrain ? { nCtx: requested, beyondTrain: hp.nCtxTrain } : { nCtx: requested };
  }
  const budget = Math.max(totalmem() / 2, freemem()) - fileBytes;
  const fit = Math.floor(budget / perToken / 256) * 256;
  if (fit >= hp.nCtxTrain) return { nCtx: hp.nCtxTrain };
  if (fit < 256) throw new UserError(`not enough memory: the ${(fileBytes / 2 ** 30).toFixed(2)} GiB model leaves no room for a KV cache`);
  return { nCtx: fit, cappedFrom: hp.nCtxTrain };
}
