import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataType, define, open, type JsExternal } from 'ffi-rs';
import { UserError } from '../cli/user-error.js';
import { readProfileEnv } from '../profile/env.js';
import { chooseCpuLibrary } from './cpu-library.js';

/** The ABI version this TypeScript speaks (FR_ABI_VERSION in native-shim/include/ferrum_shim.h). */
export const FR_ABI_VERSION = 1;

/** Package root: dist/backend/ → ../../ */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type ExecutorKind = 'cpu' | 'metal';

/**
 * The executor library to load: FERRUM_CPU_LIB / FERRUM_METAL_LIB when set,
 * else (CPU) the variant FERRUM_CPU names or the best one this CPU runs.
 */
export function nativeLibraryPath(kind: ExecutorKind): string {
  const override = process.env[kind === 'cpu' ? 'FERRUM_CPU_LIB' : 'FERRUM_METAL_LIB'];
  if (override) return override;
  return kind === 'cpu'
    ? chooseCpuLibrary(readProfileEnv().cpu)
    : `${ROOT}native-shim/metal/.build/release/libferrum_metal.dylib`;
}

const I32 = DataType.I32;
const I64 = DataType.I64;

function bindings(library: string) {
  const fn = <R extends DataType>(retType: R, paramsType: DataType[]) => ({ library, retType, paramsType });
  return define({
    fr_abi_version: fn(I32, []),
    fr_last_error: fn(DataType.String, []),
    fr_device_open: fn(I32, [I32]),
    fr_device_close: fn(I32, [I32]),
    fr_device_name: fn(DataType.String, [I32]),
    fr_device_threads: fn(I32, [I32]),
    fr_device_memory: fn(I64, [I32]),
    fr_map_file: fn(I32, [I32, DataType.String]),
    fr_map_size: fn(I64, [I32]),
    fr_map_close: fn(I32, [I32]),
    fr_buffer_new: fn(I32, [I32, I64]),
    fr_buffer_wrap: fn(I32, [I32, I32, I64, I64]),
    fr_buffer_contents: fn(DataType.External, [I32]),
    fr_buffer_size: fn(I64, [I32]),
    fr_buffer_free: fn(I32, [I32]),
    fr_kernel: fn(I32, [I32, DataType.String]),
    fr_dispatch: fn(I32, [I32, DataType.U8Array, DataType.U8Array, I32, I32]),
    fr_sync: fn(I32, [I32]),
    fr_plan_new: fn(I32, [I32, DataType.U8Array, I64]),
    fr_plan_run: fn(I32, [I32, I32, I32, I32, I32]),
    fr_plan_free: fn(I32, [I32]),
  });
}

export type NativeLib = ReturnType<typeof bindings> & { readonly path: string };
export type { JsExternal };

const loaded = new Map<string, NativeLib>();

/**
 * Load an executor's shared library once. A missing library is the user's
 * to fix with one command, so it is a UserError naming that command.
 */
export function loadNativeLib(kind: ExecutorKind): NativeLib {
  const path = nativeLibraryPath(kind);
  const hit = loaded.get(path);
  if (hit) return hit;
  if (!existsSync(path)) {
    throw new UserError(kind === 'cpu'
      ? `the native CPU library is not built (${path}); run \`npm run build:native\` in the ferrum directory`
      : `the Metal library is not built (${path}); run \`npm run build:native\` on macOS`);
  }
  const library = `ferrum_${kind}_${loaded.size}`;
  try {
    open({ library, path });
  } catch (e) {
    throw new UserError(`cannot load ${path}: ${(e as Error).message}; rebuild it with \`npm run build:native\``);
  }
  const lib = Object.assign(bindings(library), { path });
  const v = lib.fr_abi_version([]);
  if (v !== FR_ABI_VERSION) {
    throw new UserError(`${path} speaks ABI ${v}, this ferrum needs ${FR_ABI_VERSION}; rebuild it with \`npm run build:native\``);
  }
  loaded.set(path, lib);
  return lib;
}
