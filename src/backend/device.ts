import { createExternalBuffer } from 'ffi-rs';
import { encodeOp, encodePlan, type OpRecord, patchedParams, type Slots } from './plan.js';
import { type ExecutorKind, loadNativeLib, type NativeLib } from './native-lib.js';

/** A failure reported by native code (a negative FR_E_* status and its message). */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  constructor(
    readonly status: number,
    readonly call: string,
    detail: string,
  ) {
    super(`${call} failed (${status}): ${detail}`);
  }
}

/** A plan uploaded once, replayed with one FFI call per step. */
export class Plan {
  constructor(
    private readonly device: Device,
    private readonly handle: number,
    readonly ops: readonly OpRecord[],
  ) {}

  run(slots: Slots): void {
    this.device.check(this.device.lib.fr_plan_run([this.handle, ...slots]), 'fr_plan_run');
  }

  free(): void {
    this.device.lib.fr_plan_free([this.handle]);
  }
}

/**
 * One executor seen from TypeScript: every native object is an int32 handle,
 * every status is checked here so callers only see NativeError.
 */
export class Device {
  private readonly kernels = new Map<string, number>();

  private constructor(
    readonly lib: NativeLib,
    readonly kind: ExecutorKind,
    readonly handle: number,
  ) {}

  static open(kind: ExecutorKind, threads: number): Device {
    const lib = loadNativeLib(kind);
    const dev = lib.fr_device_open([threads]);
    if (dev <= 0) throw new NativeError(dev, 'fr_device_open', lib.fr_last_error([]));
    return new Device(lib, kind, dev);
  }

  check(status: number, call: string): number {
    if (status < 0) throw new NativeError(status, call, this.lib.fr_last_error([]));
    return status;
  }

  get name(): string {
    return this.lib.fr_device_name([this.handle]);
  }

  get threads(): number {
    return this.check(this.lib.fr_device_threads([this.handle]), 'fr_device_threads');
  }

  get memory(): number {
    return this.lib.fr_device_memory([this.handle]);
  }

  mapFile(path: string): number {
    return this.check(this.lib.fr_map_file([this.handle, path]), 'fr_map_file');
  }

  closeMap(map: number): void {
    this.check(this.lib.fr_map_close([map]), 'fr_map_close');
  }

  wrap(map: number, offset: number, bytes: number): number {
    return this.check(this.lib.fr_buffer_wrap([this.handle, map, offset, bytes]), 'fr_buffer_wrap');
  }

  newBuffer(bytes: number): number {
    return this.check(this.lib.fr_buffer_new([this.handle, bytes]), 'fr_buffer_new');
  }

  freeBuffer(buf: number): void {
    this.check(this.lib.fr_buffer_free([buf]), 'fr_buffer_free');
  }

  /** A Buffer over the native memory itself (no copy): valid until the buffer is freed. */
  contents(buf: number): Buffer {
    const size = this.lib.fr_buffer_size([buf]);
    this.check(size, 'fr_buffer_size');
    const ptr = this.lib.fr_buffer_contents([buf]);
    return createExternalBuffer(ptr, size);
  }

  kernel(name: string): number {
    let id = this.kernels.get(name);
    if (id === undefined) {
      id = this.check(this.lib.fr_kernel([this.handle, name]), `fr_kernel(${name})`);
      this.kernels.set(name, id);
    }
    return id;
  }

  hasKernel(name: string): boolean {
    try {
      this.kernel(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Eager mode: one op per call; `sync` waits for it (the CPU executor always completes). */
  dispatch(op: OpRecord, slots: Slots, sync: boolean): void {
    const params = patchedParams(op, slots);
    this.check(
      this.lib.fr_dispatch([this.handle, Buffer.from(encodeOp(op)), Buffer.from(params), params.length, sync ? 1 : 0]),
      `fr_dispatch(${op.name})`,
    );
  }

  sync(): void {
    this.check(this.lib.fr_sync([this.handle]), 'fr_sync');
  }

  uploadPlan(ops: readonly OpRecord[]): Plan {
    const blob = encodePlan(ops);
    const h = this.check(this.lib.fr_plan_new([this.handle, Buffer.from(blob), blob.length]), 'fr_plan_new');
    return new Plan(this, h, ops);
  }

  close(): void {
    this.lib.fr_device_close([this.handle]);
  }
}
