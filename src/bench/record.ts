import type { ModelInfo } from './model-info.js';
import { mean, stddev, tokensPerSecond } from './stats.js';
import type { TestShape } from './tests.js';

/**
 * One result row with llama-bench's own field names and order
 * (tools/llama-bench: test::get_fields), so tools that read llama-bench's
 * CSV/JSON read ferrum's. Fields for options ferrum does not have carry
 * llama-bench's defaults.
 */
export interface BenchRecord {
  readonly build_commit: string;
  readonly build_number: number;
  readonly cpu_info: string;
  readonly gpu_info: string;
  readonly backends: string;
  readonly model_filename: string;
  readonly model_type: string;
  readonly model_size: number;
  readonly model_n_params: number;
  readonly n_batch: number;
  readonly n_ubatch: number;
  readonly n_threads: number;
  readonly cpu_mask: string;
  readonly cpu_strict: boolean;
  readonly poll: number;
  readonly type_k: string;
  readonly type_v: string;
  readonly n_gpu_layers: number;
  readonly n_cpu_moe: number;
  readonly split_mode: string;
  readonly main_gpu: number;
  readonly no_kv_offload: boolean;
  readonly flash_attn: number;
  readonly devices: string;
  readonly tensor_split: string;
  readonly tensor_buft_overrides: string;
  readonly load_mode: string;
  readonly lazy_mode: string;
  readonly embeddings: boolean;
  readonly no_op_offload: number;
  readonly no_host: boolean;
  readonly fit_target: number;
  readonly fit_min_ctx: number;
  readonly n_prompt: number;
  readonly n_gen: number;
  readonly n_depth: number;
  readonly test_time: string;
  readonly avg_ns: number;
  readonly stddev_ns: number;
  readonly avg_ts: number;
  readonly stddev_ts: number;
  readonly samples_ns: readonly number[];
  readonly samples_ts: readonly number[];
}

export type ScalarField = Exclude<keyof BenchRecord, 'samples_ns' | 'samples_ts'>;

/** The scalar fields in llama-bench's order (CSV columns; JSON keys before the sample arrays). */
export const FIELDS: readonly ScalarField[] = [
  'build_commit', 'build_number', 'cpu_info', 'gpu_info', 'backends',
  'model_filename', 'model_type', 'model_size', 'model_n_params', 'n_batch',
  'n_ubatch', 'n_threads', 'cpu_mask', 'cpu_strict', 'poll',
  'type_k', 'type_v', 'n_gpu_layers', 'n_cpu_moe', 'split_mode',
  'main_gpu', 'no_kv_offload', 'flash_attn', 'devices', 'tensor_split',
  'tensor_buft_overrides', 'load_mode', 'lazy_mode',
  'embeddings',
  'no_op_offload', 'no_host', 'fit_target', 'fit_min_ctx',
  'n_prompt', 'n_gen', 'n_depth',
  'test_time', 'avg_ns', 'stddev_ns', 'avg_ts', 'stddev_ts',
];

/** A value as llama-bench's test::get_values writes it (std::to_string; its CSV and SQL): bools 0/1, t/s with 6 decimals. */
export function fieldText(f: ScalarField, v: BenchRecord[ScalarField]): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (f === 'avg_ts' || f === 'stddev_ts') return (v as number).toFixed(6);
  return String(v);
}

/** What the run knows beside the model and the samples. */
export interface RunContext {
  readonly build: string;
  readonly cpuInfo: string;
  readonly gpuInfo: string;
  /** "CPU" or "Metal", as llama-bench's backends column. */
  readonly backends: string;
  readonly nBatch: number;
  readonly nThreads: number;
  readonly kvType: string;
  readonly nGpuLayers: number;
}

/** llama-bench prints avg_ts with %f (6 decimals) and samples_ts with a stream's 6 significant digits. */
const fixed6 = (x: number): number => Number(x.toFixed(6));
const sig6 = (x: number): number => Number(x.toPrecision(6));

export function makeRecord(
  model: ModelInfo, ctx: RunContext, test: TestShape, samplesNs: readonly number[], startedAt: Date,
): BenchRecord {
  // the depth fill is not timed, so its tokens do not count (llama-bench: n_prompt + n_gen)
  const ts = tokensPerSecond(test.nPrompt + test.nGen, samplesNs);
  return {
    build_commit: ctx.build,
    build_number: 0,
    cpu_info: ctx.cpuInfo,
    gpu_info: ctx.gpuInfo,
    backends: ctx.backends,
    model_filename: model.filename,
    model_type: model.type,
    model_size: model.size,
    model_n_params: model.nParams,
    n_batch: ctx.nBatch,
    n_ubatch: ctx.nBatch,
    n_threads: ctx.nThreads,
    cpu_mask: '0x0',
    cpu_strict: false,
    poll: 50,
    type_k: ctx.kvType,
    type_v: ctx.kvType,
    n_gpu_layers: ctx.nGpuLayers,
    n_cpu_moe: 0,
    split_mode: 'layer',
    main_gpu: 0,
    no_kv_offload: false,
    // ferrum's attention is fused (online softmax over the KV cache), what llama.cpp calls flash attention.
    flash_attn: 1,
    devices: 'auto',
    tensor_split: '0.00',
    tensor_buft_overrides: 'none',
    load_mode: 'mmap',
    lazy_mode: 'auto',
    embeddings: false,
    no_op_offload: 0,
    no_host: false,
    fit_target: 0,
    fit_min_ctx: 0,
    n_prompt: test.nPrompt,
    n_gen: test.nGen,
    n_depth: test.nDepth ?? 0,
    // RFC 3339, seconds precision, as llama-bench's strftime("%FT%TZ").
    test_time: `${startedAt.toISOString().slice(0, 19)}Z`,
    avg_ns: Math.round(mean(samplesNs)),
    stddev_ns: Math.round(stddev(samplesNs)),
    avg_ts: fixed6(mean(ts)),
    stddev_ts: fixed6(stddev(ts)),
    samples_ns: [...samplesNs],
    samples_ts: ts.map(sig6),
  };
}
