import { ggmlTypeInfo, ggmlTypeName, type GgufFile, type GgufTensorInfo } from '../gguf/index.js';
import type { Device } from '../backend/device.js';
import type { Binding } from '../backend/plan.js';
import { UserError } from '../cli/user-error.js';

/**
 * Metal wraps mapped memory only at page granularity (16 KiB on Apple
 * Silicon), so every executor gets the same rounded-out ranges and binds the
 * tensor at its offset inside them.
 */
export const WRAP_PAGE = 16384;

/** Weight types every executor computes with (matrix products and embedding rows). */
export const COMPUTE_TYPES: ReadonlySet<string> = new Set([
  'F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'IQ4_XS',
]);

export interface Weight extends Binding {
  readonly name: string;
  readonly type: number;
  /** ggml order: [row length, rows, ...]. */
  readonly dims: readonly number[];
  /** Bytes per row as stored: the file's, or the repacked layout's. */
  readonly rowBytes: number;
  /** 'r8': a CPU copy repacked eight rows to a block (repack.ts); absent: the file's bytes. */
  readonly layout?: 'r8';
}

/** Tensors of a mapped GGUF, wrapped zero-copy, checked by name and shape before use. */
export class Weights {
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;
  private readonly wrapped: number[] = [];

  constructor(
    private readonly device: Device,
    private readonly file: GgufFile,
    private readonly map: number,
  ) {
    this.byName = new Map(file.tensors.map((t) => [t.name, t]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The ggml dims of a tensor that exists ([] when it does not). */
  dims(name: string): readonly number[] {
    return this.byName.get(name)?.dims ?? [];
  }

  /** The tensor, which must have exactly `dims`; a missing one is the model's fault, said plainly. */
  get(name: string, dims: readonly number[]): Weight {
    const w = this.optional(name, dims);
    if (!w) throw new UserError(`${this.file.path}: tensor ${name} is missing`);
    return w;
  }

  optional(name: string, dims: readonly number[]): Weight | undefined {
    const t = this.byName.get(name);
    if (!t) return undefined;
    const same = t.dims.length >= dims.length && dims.every((d, i) => t.dims[i] === d) && t.dims.slice(dims.length).every((d) => d === 1);
    if (!same) throw new UserError(`${this.file.path}: tensor ${name} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}]`);
    const info = ggmlTypeInfo(t.type);
    if (!info || info.removed || t.bytes === undefined || !COMPUTE_TYPES.has(info.name)) {
      throw new UserError(`${this.file.path}: tensor ${name} has type ${ggmlTypeName(t.type)}, which ferrum cannot compute with (supported: ${[...COMPUTE_TYPES].join(', ')})`);
    }
    const start = Math.floor(t.fileOffset / WRAP_PAGE) * WRAP_PAGE;
    const end = Math.min(Math.ceil((t.fileOffset + t.bytes) / WRAP_PAGE) * WRAP_PAGE, this.file.fileSize);
    const buffer = this.device.wrap(this.map, start, end - start);
    this.wrapped.push(buffer);
    return {
      name,
      type: t.type,
      dims: t.dims,
      buffer,
      offset: t.fileOffset - start,
      rowBytes: (t.dims[0]! / info.blockSize) * info.typeSize,
    };
  }

  release(): void {
    for (const b of this.wrapped.splice(0)) this.device.freeBuffer(b);
  }
}
