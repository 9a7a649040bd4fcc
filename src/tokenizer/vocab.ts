/**
 * The vocabulary of a GGUF, read from its `tokenizer.ggml.*` metadata the way
 * llama.cpp's llama_vocab::impl::load reads it: defaults per tokenizer model,
 * flags per pre-tokenizer, special ids, token attributes (including the ones
 * llama.cpp infers from token text), the end-of-generation set and the
 * special-token list used to split text before tokenizing.
 */
import type { GgufFile } from '../gguf/index.js';
import { GgufMetadata } from '../gguf/index.js';
import { type PreTokenizerSpec, preTokenizerSpec } from './pre-tokenizers.js';

/** `tokenizer.ggml.token_type` values (llama_token_type). */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** Token attribute bits (llama_token_attr). */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

const TYPE_TO_ATTR: Readonly<Record<number, number>> = {
  [TokenType.UNDEFINED]: TokenAttr.UNDEFINED,
  [TokenType.NORMAL]: TokenAttr.NORMAL,
  [TokenType.UNKNOWN]: TokenAttr.UNKNOWN,
  [TokenType.CONTROL]: TokenAttr.CONTROL,
  [TokenType.USER_DEFINED]: TokenAttr.USER_DEFINED,
  [TokenType.UNUSED]: TokenAttr.UNUSED,
  [TokenType.BYTE]: TokenAttr.BYTE,
};

/** `spm`: tokenizer.ggml.model = "llama"; `bpe`: "gpt2". */
export type VocabType = 'spm' | 'bpe';

/** -1 where llama.cpp has LLAMA_TOKEN_NULL. */
export const NO_TOKEN = -1;

export interface SpecialIds {
  bos: number;
  eos: number;
  eot: number;
  eom: number;
  unk: number;
  sep: number;
  pad: number;
  mask: number;
  fimPre: number;
  fimSuf: number;
  fimMid: number;
  fimPad: number;
  fimRep: number;
  fimSep: number;
}

export interface Vocab {
  readonly type: VocabType;
  /** `tokenizer.ggml.model` as written. */
  readonly model: string;
  /** `tokenizer.ggml.pre` as written ('' when absent). */
  readonly pre: string;
  /** The pre-tokenizer (BPE only). */
  readonly preSpec: PreTokenizerSpec | undefined;
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
  /** llama_token_attr bits per token. */
  readonly attrs: Uint16Array;
  readonly tokenToId: ReadonlyMap<string, number>;
  readonly special: Readonly<SpecialIds>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** BPE: a word that is a token is emitted whole (llama3, tekken...). */
  readonly ignoreMerges: boolean;
  /** llama_detokenize's clean-up of " ," " 's"... */
  readonly cleanSpaces: boolean;
  /** SPM-style ▁ for spaces (always for SPM). */
  readonly escapeWhitespaces: boolean;
  /** Ids that end generation. */
  readonly eog: ReadonlySet<number>;
  /** CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first: what splits text before tokenizing. */
  readonly specialTokens: readonly number[];
  /** `tokenizer.ggml.merges` (BPE). */
  readonly merges: readonly string[];
  readonly chatTemplate: string | undefined;
  readonly modelName: string | undefined;
}

export class VocabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VocabError';
  }
}

export interface VocabLoadOptions {
  /** Where llama.cpp would log a warning (missing pre-tokenizer...). */
  readonly warn?: (message: string) => void;
}

// Texts llama.cpp recognises as special tokens when the GGUF does not say (llama-vocab.cpp).
const EOT_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]',
  '<｜end▁of▁sentence｜>', '<end_of_utterance>',
];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_PRE_TEXTS = ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'];
const FIM_SUF_TEXTS = ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'];
const FIM_MID_TEXTS = ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];
const EOG_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>',
  '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>',
  '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);

const ID_KEYS: ReadonlyArray<readonly [keyof SpecialIds, string]> = [
  ['bos', 'tokenizer.ggml.bos_token_id'],
  ['eos', 'tokenizer.ggml.eos_token_id'],
  ['eot', 'tokenizer.ggml.eot_token_id'],
  ['eom', 'tokenizer.ggml.eom_token_id'],
  ['unk', 'tokenizer.ggml.unknown_token_id'],
  ['sep', 'tokenizer.ggml.seperator_token_id'],
  ['pad', 'tokenizer.ggml.padding_token_id'],
  ['mask', 'tokenizer.ggml.mask_token_id'],
  ['fimPre', 'tokenizer.ggml.fim_pre_token_id'],
  ['fimSuf', 'tokenizer.ggml.fim_suf_token_id'],
  ['fimMid', 'tokenizer.ggml.fim_mid_token_id'],
  ['fimPad', 'tokenizer.ggml.fim_pad_token_id'],
  ['fimRep', 'tokenizer.ggml.fim_rep_token_id'],
  ['fimSep', 'tokenizer.ggml.fim_sep_token_id'],
  // deprecated names, read after the new ones as llama.cpp does
  ['fimPre', 'tokenizer.ggml.prefix_token_id'],
  ['fimSuf', 'tokenizer.ggml.suffix_token_id'],
  ['fimMid', 'tokenizer.ggml.middle_token_id'],
];

export const SUPPORTED_TOKENIZER_MODELS = ['llama', 'gpt2'] as const;

export function loadVocab(source: GgufFile | GgufMetadata, opts: VocabLoadOptions = {}): Vocab {
  const md = source instanceof GgufMetadata ? source : new GgufMetadata(source);
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`ferrum: ${m}\n`));

  const model = md.string('tokenizer.ggml.model');
  if (model === undefined) throw new VocabError('the GGUF has no tokenizer (tokenizer.ggml.model is missing)');
  let pre = md.string('tokenizer.ggml.pre') ?? '';

  const special: SpecialIds = {
    bos: NO_TOKEN, eos: NO_TOKEN, eot: NO_TOKEN, eom: NO_TOKEN, unk: NO_TOKEN, sep: NO_TOKEN, pad: NO_TOKEN, mask: NO_TOKEN,
    fimPre: NO_TOKEN, fimSuf: NO_TOKEN, fimMid: NO_TOKEN, fimPad: NO_TOKEN, fimRep: NO_TOKEN, fimSep: NO_TOKEN,
  };
  let type: VocabType;
  let addSpacePrefix: boolean;
  let addBos: boolean;
  let addEos = false;
  let cleanSpaces: boolean;
  let escapeWhitespaces = true;
  let ignoreMerges = false;
  let preSpec: PreTokenizerSpec | undefined;

  if (model === 'llama') {
    type = 'spm';
    special.bos = 1;
    special.eos = 2;
    special.unk = 0;
    addSpacePrefix = true;
    cleanSpaces = false;
    addBos = true;
  } else if (model === 'gpt2') {
    type = 'bpe';
    special.bos = 11;
    special.eos = 11;
    addSpacePrefix = false;
    escapeWhitespaces = false;
    cleanSpaces = true;
    addBos = false;
    if (pre === '') {
      warn('missing pre-tokenizer type (tokenizer.ggml.pre), using "default" as llama.cpp does: generation quality may be degraded');
      pre = 'default';
    }
    preSpec = preTokenizerSpec(pre);
    if (preSpec.ignoreMerges) ignoreMerges = true;
    if (preSpec.cleanSpaces !== undefined) cleanSpaces = preSpec.cleanSpaces;
    if (preSpec.addBos) addBos = true;
    if (preSpec.noBos) special.bos = NO_TOKEN;
  } else {
    throw new VocabError(
      `unsupported tokenizer model tokenizer.ggml.model = "${model}"; ferrum supports: ${SUPPORTED_TOKENIZER_MODELS.join(', ')}`,
    );
  }
  addSpacePrefix = md.bool('tokenizer.ggml.add_space_prefix') ?? addSpacePrefix;

  const rawTokens = md.strings('tokenizer.ggml.tokens');
  if (!rawTokens) throw new VocabError('cannot find tokenizer vocab in model file (tokenizer.ggml.tokens)');
  const n = rawTokens.length;
  const scoreList = md.numbers('tokenizer.ggml.scores');
  if (scoreList && scoreList.length < n) throw new VocabError(`tokenizer.ggml.scores has ${scoreList.length} entries for ${n} tokens`);
  const typeList = md.numbers('tokenizer.ggml.token_type');
  if (typeList && typeList.length < n) throw new VocabError(`tokenizer.ggml.token_type has ${typeList.length} entries for ${n} tokens`);

  const tokens: string[] = new Array<string>(n);
  const scores = new Float32Array(n);
  const attrs = new Uint16Array(n);
  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let word = rawTokens[i]!;
    if (word === '') word = `[EMPTY_${i}]`;
    tokens[i] = word;
    tokenToId.set(word, i);
    if (scoreList) scores[i] = scoreList[i]!;
    attrs[i] = typeList ? TYPE_TO_ATTR[typeList[i]!] ?? TokenAttr.UNDEFINED : TokenAttr.NORMAL;
  }
  if (tokenToId.size !== n) throw new VocabError(`tokenizer.ggml.tokens has duplicate entries (${n} tokens, ${tokenToId.size} distinct)`);

  // Special ids: defaults out of range are dropped, ids in the file win when in range.
  for (const [field, key] of ID_KEYS) {
    if (special[field] >= n) special[field] = NO_TOKEN;
    const v = md.number(key);
    if (v === undefined) continue;
    if (v >= 0 && v < n) special[field] = v;
    else warn(`bad special token: ${key} = ${v}, using default id ${special[field]}`);
  }
  addBos = md.bool('tokenizer.ggml.add_bos_token') ?? addBos;
  addEos = md.bool('tokenizer.ggml.add_eos_token') ?? addEos;

  // Special tokens recognised by text, made CONTROL when the file forgot to.
  const byText = (field: keyof SpecialIds, texts: readonly string[]): void => {
    if (special[field] !== NO_TOKEN) return;
    // llama.cpp takes the first hit in hash order; we take the first in its list's order.
    for (const t of texts) {
      const id = tokenToId.get(t);
      if (id === undefined) continue;
      special[field] = id;
      attrs[id]! |= TokenAttr.CONTROL;
      return;
    }
  };
  byText('eot', EOT_TEXTS);
  byText('eom', EOM_TEXTS);
  byText('fimPre', FIM_PRE_TEXTS);
  byText('fimSuf', FIM_SUF_TEXTS);
  byText('fimMid', FIM_MID_TEXTS);
  byText('fimPad', FIM_PAD_TEXTS);
  byText('fimRep', FIM_REP_TEXTS);
  byText('fimSep', FIM_SEP_TEXTS);

  // Control tokens named "unused" are unused.
  for (let i = 0; i < n; i++) {
    if (attrs[i]! & TokenAttr.CONTROL && !(attrs[i]! & TokenAttr.UNUSED) && tokens[i]!.includes('unused')) attrs[i]! |= TokenAttr.UNUSED;
  }

  const eog = new Set<number>();
  for (const id of [special.fimPad, special.fimRep, special.fimSep]) if (id !== NO_TOKEN) eog.add(id);
  for (const t of EOG_TEXTS) {
    const id = tokenToId.get(t);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id]! |= TokenAttr.CONTROL;
  }
  // gpt-oss: these are always rendered.
  for (const t of ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']) {
    const id = tokenToId.get(t);
    if (id !== undefined) attrs[id] = TokenAttr.USER_DEFINED;
  }
  for (const id of [special.eos, special.eot, special.eom]) if (id !== NO_TOKEN) eog.add(id);
  // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
  {
    const has = (t: string): boolean => {
      const id = tokenToId.get(t);
      return id !== undefined && eog.has(id);
    };
    const endId = tokenToId.get('<|end|>');
    if (endId !== undefined && eog.has(endId) &&
      ((has('<|return|>') && (has('<|call|>') || has('<|calls|>'))) || ((has('<|call|>') || has('<|calls|>')) && has('<|flush|>')))) {
      eog.delete(endId);
      attrs[endId] = TokenAttr.USER_DEFINED;
    }
    const sId = tokenToId.get('</s>');
    if (sId !== undefined && eog.has(sId) && has('<|tool_response>')) {
      eog.delete(sId);
      attrs[sId] = TokenAttr.NORMAL;
    }
  }

  // Text that splits before tokenizing: longest (in UTF-8 bytes) first. (llama.cpp's std::sort is
  // not stable; ties among equal-length tokens only matter when two of them
  // overlap in the text, and then we prefer the lower id.)
  const specialTokens: number[] = [];
  for (let i = 0; i < n; i++) {
    if (attrs[i]! & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) specialTokens.push(i);
  }
  const byteLen = new Map<number, number>(specialTokens.map((id) => [id, Buffer.byteLength(tokens[id]!, 'utf8')]));
  specialTokens.sort((a, b) => byteLen.get(b)! - byteLen.get(a)! || a - b);

  // Per-token attributes llama.cpp sets by model name.
  const modelName = md.string('general.name');
  const lname = (modelName ?? '').toLowerCase();
  const arch = md.string('general.architecture') ?? '';
  const setAttr = (text: string, bit: number, on: boolean): void => {
    const id = tokenToId.get(text);
    if (id === undefined) return;
    attrs[id] = on ? attrs[id]! | bit : attrs[id]! & ~bit;
  };
  if (['jina-v2-de', 'jina-v2-es', 'jina-v2-code'].some((s) => pre.includes(s)) || ['nomic-bert-moe', 'jina-bert-v3'].some((s) => arch.includes(s))) {
    setAttr('<mask>', TokenAttr.LSTRIP, true);
  } else if (lname.includes('phi-3') || lname.includes('phi3')) {
    for (const id of specialTokens) attrs[id]! |= TokenAttr.RSTRIP;
    setAttr('</s>', TokenAttr.RSTRIP, true);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) setAttr(t, TokenAttr.RSTRIP, false);
  } else if (lname.includes('modern-bert')) {
    setAttr('[MASK]', TokenAttr.LSTRIP, true);
  }

  let merges: readonly string[] = [];
  if (type === 'bpe') {
    const m = md.strings('tokenizer.ggml.merges');
    if (!m) throw new VocabError('cannot find tokenizer merges in model file (tokenizer.ggml.merges)');
    merges = m;
  }

  return {
    type, model, pre, preSpec, tokens, scores, attrs, tokenToId, special, addBos, addEos, addSpacePrefix, ignoreMerges, cleanSpaces,
    escapeWhitespaces, eog, specialTokens, merges, chatTemplate: md.string('tokenizer.chat_template'), modelName,
  };
}
