import { GgufError } from './errors.js';
import type { GgufFile } from './reader.js';
import { type GgufArray, type GgufValue, isGgufArray } from './value-types.js';

/**
 * Typed access to a GGUF's metadata by llama.cpp's key names. Missing keys
 * give undefined; a key of the wrong type is a GgufError naming the key, so
 * a malformed model fails with a sentence, not a NaN three layers later.
 */
export class GgufMetadata {
  constructor(private readonly file: GgufFile) {}

  has(key: string): boolean {
    return this.file.metadata.has(key);
  }

  raw(key: string): GgufValue | undefined {
    return this.file.metadata.get(key)?.value;
  }

  private wrong(key: string, want: string): never {
    throw new GgufError(this.file.path, `metadata "${key}" is not ${want}`);
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.wrong(key, 'a string');
  }

  number(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) this.wrong(key, 'a safe integer');
      return Number(v);
    }
    return this.wrong(key, 'a number');
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.wrong(key, 'a bool');
  }

  array(key: string): GgufArray | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return isGgufArray(v) ? v : this.wrong(key, 'an array');
  }

  strings(key: string): string[] | undefined {
    const a = this.array(key);
    if (!a) return undefined;
    if (!a.items.every((x) => typeof x === 'string')) this.wrong(key, 'an array of strings');
    return a.items as string[];
  }

  numbers(key: string): number[] | undefined {
    const a = this.array(key);
    if (!a) return undefined;
    return a.items.map((x) => {
      if (typeof x === 'number') return x;
      if (typeof x === 'bigint') return Number(x);
      return this.wrong(key, 'an array of numbers');
    });
  }

  /** `general.architecture`, used to prefix the model's own keys. */
  get architecture(): string | undefined {
    return this.string('general.architecture');
  }

  /** A per-architecture key: arch("block_count") → "<arch>.block_count". */
  archNumber(suffix: string): number | undefined {
    const arch = this.architecture;
    return arch === undefined ? undefined : this.number(`${arch}.${suffix}`);
  }
}
