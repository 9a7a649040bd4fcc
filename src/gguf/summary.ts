import { ggmlTypeName, llamaFileTypeName } from './ggml-types.js';
import { GgufMetadata } from './metadata.js';
import type { GgufFile } from './reader.js';

export interface QuantTypeRow {
  readonly type: string;
  readonly tensors: number;
  readonly params: number;
  /** Undefined where the type cannot be sized. */
  readonly bytes: number | undefined;
  /** Share of the file's bytes, 0..1. */
  readonly share: number;
}

/** What `ferrum inspect` shows: the model's identity and shape, from llama.cpp's metadata keys. */
export interface ModelSummary {
  readonly file: string;
  readonly fileSize: number;
  readonly ggufVersion: number;
  readonly architecture: string | undefined;
  readonly name: string | undefined;
  readonly params: number;
  readonly fileType: string | undefined;
  readonly contextLength: number | undefined;
  readonly layers: number | undefined;
  readonly embeddingLength: number | undefined;
  readonly feedForwardLength: number | undefined;
  readonly heads: number | undefined;
  readonly headsKV: number | undefined;
  readonly experts: number | undefined;
  readonly expertsUsed: number | undefined;
  /** Rows of one expert's gate/up (`expert_feed_forward_length`), where the file says. */
  readonly expertFeedForwardLength: number | undefined;
  /**
   * Mixture of experts: the parameters one token runs through — everything
   * but the unselected experts' share of the routed expert tensors
   * (blk.N.ffn_*_exps). Undefined for a dense model.
   */
  readonly activeParams: number | undefined;
  /** Elements of the routed expert tensors (0 for a dense model). */
  readonly expertParams: number;
  readonly vocabSize: number | undefined;
  readonly tokenizerModel: string | undefined;
  readonly tokenizerPre: string | undefined;
  readonly hasChatTemplate: boolean;
  readonly tensorCount: number;
  readonly quantTypes: readonly QuantTypeRow[];
  /** Mean bits per weight over all tensors of known size. */
  readonly bitsPerWeight: number;
}

/** Head counts may be per-layer arrays (e.g. OpenELM); show the first as llama.cpp's model info does. */
function firstNumber(meta: GgufMetadata, key: string): number | undefined {
  if (!meta.has(key)) return undefined;
  const arr = meta.raw(key);
  if (typeof arr === 'object' && arr !== null && 'items' in arr) return meta.numbers(key)?.[0];
  return meta.number(key);
}

export function summarize(file: GgufFile): ModelSummary {
  const meta = new GgufMetadata(file);
  const arch = meta.architecture;
  const a = (suffix: string): number | undefined => (arch ? firstNumber(meta, `${arch}.${suffix}`) : undefined);
  const ftype = meta.number('general.file_type');

  const byType = new Map<number, { tensors: number; params: number; bytes: number | undefined }>();
  let params = 0;
  let sizedBytes = 0;
  let sizedParams = 0;
  for (const t of file.tensors) {
    params += t.elements;
    const row = byType.get(t.type) ?? { tensors: 0, params: 0, bytes: 0 };
    row.tensors += 1;
    row.params += t.elements;
    row.bytes = row.bytes === undefined || t.bytes === undefined ? undefined : row.bytes + t.bytes;
    byType.set(t.type, row);
    if (t.bytes !== undefined) {
      sizedBytes += t.bytes;
      sizedParams += t.elements;
    }
  }
  const quantTypes = [...byType.entries()]
    .sort((x, y) => (y[1].bytes ?? 0) - (x[1].bytes ?? 0) || x[0] - y[0])
    .map(([type, r]) => ({
      type: ggmlTypeName(type),
      tensors: r.tensors,
      params: r.params,
      bytes: r.bytes,
      share: r.bytes === undefined || file.fileSize === 0 ? 0 : r.bytes / file.fileSize,
    }));

  const experts = a('expert_count');
  const expertsUsed = a('expert_used_count');
  const expertParams = file.tensors.filter((t) => /\.ffn_[a-z_]*_exps\.weight$/.test(t.name)).reduce((n, t) => n + t.elements, 0);
  const activeParams = experts !== undefined && experts > 0 && expertsUsed !== undefined
    ? params - Math.round((expertParams * (experts - Math.min(expertsUsed, experts))) / experts)
    : undefined;

  const tokens = meta.array('tokenizer.ggml.tokens');
  return {
    file: file.path,
    fileSize: file.fileSize,
    ggufVersion: file.version,
    architecture: arch,
    name: meta.string('general.name'),
    params,
    fileType: ftype === undefined ? undefined : llamaFileTypeName(ftype),
    contextLength: a('context_length'),
    layers: a('block_count'),
    embeddingLength: a('embedding_length'),
    feedForwardLength: a('feed_forward_length'),
    heads: a('attention.head_count'),
    headsKV: a('attention.head_count_kv') ?? a('attention.head_count'),
    experts,
    expertsUsed,
    expertFeedForwardLength: a('expert_feed_forward_length'),
    activeParams,
    expertParams,
    vocabSize: tokens?.items.length ?? a('vocab_size'),
    tokenizerModel: meta.string('tokenizer.ggml.model'),
    tokenizerPre: meta.string('tokenizer.ggml.pre'),
    hasChatTemplate: meta.has('tokenizer.chat_template'),
    tensorCount: file.tensors.length,
    quantTypes,
    bitsPerWeight: sizedParams === 0 ? 0 : (sizedBytes * 8) / sizedParams,
  };
}
