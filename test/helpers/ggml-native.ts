import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataType, load, open } from 'ffi-rs';
import { GgmlType, ggmlKernelSuffix } from '../../src/gguf/index.js';
import { IS_CI, REPO_ROOT } from './shared.js';

/**
 * ggml's own quantizer and dequantizers, from the CPU prebuilt that
 * node-llama-cpp ships, called through ffi-rs: the judge the reference
 * dequantizer is checked against.
 */
export const GGML_BINS_DIR = resolve(REPO_ROOT, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64');
const GGML_BASE_PATH = resolve(GGML_BINS_DIR, 'libggml-base.so');
const LIBRARY = 'ferrum-test-ggml-base';

let opened = false;

/**
 * Path of libggml-base.so, or undefined (the caller skips) when node-llama-cpp's
 * linux-x64 prebuilt is absent. Under CI=true its absence is a failure.
 */
export function ggmlBaseLibrary(): string | undefined {
  if (existsSync(GGML_BASE_PATH)) return GGML_BASE_PATH;
  if (IS_CI) throw new Error(`CI=true but ${GGML_BASE_PATH} is missing: install devDependencies (node-llama-cpp) in CI`);
  console.warn(`skipping: ${GGML_BASE_PATH} is absent (node-llama-cpp's linux-x64 prebuilt is needed to compare with ggml)`);
  return undefined;
}

function ensureOpen(): void {
  if (opened) return;
  const path = ggmlBaseLibrary();
  if (!path) throw new Error('libggml-base.so is not available');
  open({ library: LIBRARY, path });
  opened = true;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * ggml_quantize_chunk(type, src, dst, start, nrows, n_per_row, imatrix=NULL).
 * The NULL imatrix is passed as a 64-bit zero: pointers and int64 share
 * argument slots in the x86-64 and AArch64 calling conventions, and ffi-rs has
 * no null-pointer value.
 */
export function ggmlQuantize(type: number, values: Float32Array, rows: number, rowLength: number, bytes: number): Uint8Array {
  ensureOpen();
  if (values.length !== rows * rowLength) throw new Error('ggmlQuantize: values.length must be rows * rowLength');
  const src = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const dst = Buffer.alloc(bytes);
  const written = load({
    library: LIBRARY,
    funcName: 'ggml_quantize_chunk',
    retType: DataType.U64,
    paramsType: [DataType.I32, DataType.U8Array, DataType.U8Array, DataType.I64, DataType.I64, DataType.I64, DataType.I64],
    paramsValue: [type, src, dst, 0, rows, rowLength, 0],
  });
  if (Number(written) !== bytes) throw new Error(`ggml_quantize_chunk wrote ${String(written)} bytes, expected ${bytes}`);
  return new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
}

/**
 * The function ggml's type traits name as `to_float` for `type`: the exported
 * dequantize_row_<type> for block types, the fp16/bf16 row converters for halves.
 */
function toFloatSymbol(type: number): string {
  if (type === GgmlType.F16) return 'ggml_fp16_to_fp32_row';
  if (type === GgmlType.BF16) return 'ggml_bf16_to_fp32_row';
  return `dequantize_row_${ggmlKernelSuffix(type)}`;
}

/** ggml's dequantization of `elements` values of `type` from `data`. */
export function ggmlDequantize(type: number, data: Uint8Array, elements: number): Float32Array {
  if (type === GgmlType.F32) return new Float32Array(data.slice(0, elements * 4).buffer);
  ensureOpen();
  const out = Buffer.alloc(elements * 4);
  load({
    library: LIBRARY,
    funcName: toFloatSymbol(type),
    retType: DataType.Void,
    paramsType: [DataType.U8Array, DataType.U8Array, DataType.I64],
    paramsValue: [asBuffer(data), out, elements],
  });
  return new Float32Array(out.buffer, out.byteOffset, elements);
}
