/**
 * Pre-tokenizers of byte-level BPE vocabularies, chosen by `tokenizer.ggml.pre`
 * as llama.cpp chooses them: the same regex lists, the same hand-written
 * splitters where llama.cpp has them (gpt2, llama3, qwen2, qwen35), and for
 * the other regexes the same trick llama.cpp plays on std::regex: every
 * non-ASCII code point is collapsed to one byte standing for its Unicode
 * category, so \p{L} and friends become plain character classes. Matching
 * llama.cpp here means matching its quirks too (Unicode 15.1 categories,
 * \s as ASCII isspace plus White_Space collapsed to \v, gaps between matches
 * kept as words of their own).
 */
import {
  CAT_LETTER, CAT_MARK, CAT_MASK, CAT_NUMBER, CAT_PUNCTUATION, CAT_SYMBOL, FLAG_WHITESPACE, codepointsOf, cptTable,
} from './unicode.js';

/** How a pre-tokenizer changes the vocab's flags, mirroring llama_vocab::impl::load. */
export interface PreTokenizerSpec {
  /** llama.cpp's LLAMA_VOCAB_PRE_TYPE_* name, lower case. */
  readonly type: string;
  readonly regexes: readonly string[];
  readonly ignoreMerges?: boolean;
  readonly cleanSpaces?: boolean;
  readonly addBos?: boolean;
  /** CHATGLM4 clears the default BOS id. */
  readonly noBos?: boolean;
}

// The regexes, verbatim in the syntax llama.cpp keeps them (HF/Oniguruma style).
const GPT2_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3_RE =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_RE =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35_RE =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const DEFAULT: PreTokenizerSpec = {
  type: 'default',
  regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2_RE, '\\p{N}+', '[0-9][0-9][0-9]'],
};
const LLAMA3: PreTokenizerSpec = { type: 'llama3', regexes: [LLAMA3_RE], ignoreMerges: true, addBos: true };
const DBRX: PreTokenizerSpec = { type: 'dbrx', regexes: [LLAMA3_RE] };
const GPT2: PreTokenizerSpec = { type: 'gpt2', regexes: [GPT2_RE] };
const QWEN2: PreTokenizerSpec = { type: 'qwen2', regexes: [QWEN2_RE], cleanSpaces: false };
const STARCODER: PreTokenizerSpec = { type: 'starcoder', regexes: ['\\p{N}', GPT2_RE] };
const DEEPSEEK3: PreTokenizerSpec = {
  type: 'deepseek3-llm',
  regexes: [
    '\\p{N}{1,3}',
    '[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+',
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
  ],
  cleanSpaces: false,
};

/** `tokenizer.ggml.pre` values ferrum supports, as llama.cpp maps them. */
export const PRE_TOKENIZERS: ReadonlyMap<string, PreTokenizerSpec> = new Map<string, PreTokenizerSpec>([
  ['default', DEFAULT],
  ...['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'].map(
    (n) => [n, LLAMA3] as const,
  ),
  ['dbrx', DBRX],
  ['smaug-bpe', { ...DBRX, type: 'smaug' }],
  ['glm4', { type: 'chatglm4', regexes: [LLAMA3_RE], noBos: true }],
  ['chatglm-bpe', { type: 'chatglm4', regexes: [LLAMA3_RE], noBos: true }],
  ['deepseek-llm', {
    type: 'deepseek-llm',
    regexes: [
      '[\r\n]',
      '\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+',
      '\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+',
      '\\s+$',
      '[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+',
      '\\p{N}+',
    ],
    cleanSpaces: false,
  }],
  ['deepseek-coder', {
    type: 'deepseek-coder',
    regexes: ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+', '\\p{N}'],
    cleanSpaces: false,
  }],
  ...['deepseek-v3', 'hunyuan-dense', 'joyai-llm', 'hy_v4'].map((n) => [n, DEEPSEEK3] as const),
  ['falcon', { type: 'falcon', regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2_RE, '[0-9][0-9][0-9]'] }],
  ['mpt', { ...GPT2, type: 'mpt' }],
  ['olmo', { ...GPT2, type: 'olmo' }],
  ['jais', { ...GPT2, type: 'jais' }],
  ['trillion', { ...GPT2, type: 'trillion', cleanSpaces: false }],
  ['granite-docling', { ...GPT2, type: 'granite-docling', cleanSpaces: false }],
  ...['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert', 'exaone4'].map(
    (n) => [n, GPT2] as const,
  ),
  ['starcoder', STARCODER],
  ['refact', { ...STARCODER, type: 'refact' }],
  ['command-r', { ...STARCODER, type: 'command-r', cleanSpaces: false }],
  ['smollm', { ...STARCODER, type: 'smollm', cleanSpaces: false }],
  ['codeshell', { ...STARCODER, type: 'codeshell' }],
  ['exaone', { ...STARCODER, type: 'exaone' }],
  ['minerva-7b', { ...STARCODER, type: 'minerva' }],
  ['mellum2', { ...STARCODER, type: 'mellum2' }],
  ...['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2'].map((n) => [n, QWEN2] as const),
  ['megrez', { ...QWEN2, cleanSpaces: undefined }],
  ['stablelm2', { ...QWEN2, type: 'stablelm2', cleanSpaces: undefined }],
  ['hunyuan', { ...QWEN2, type: 'hunyuan' }],
  ['solar-open', { ...QWEN2, type: 'solar-open' }],
  ['qwen35', { type: 'qwen35', regexes: [QWEN35_RE], cleanSpaces: false }],
]);

export class UnsupportedPreTokenizerError extends Error {
  constructor(readonly pre: string) {
    super(
      `unsupported pre-tokenizer tokenizer.ggml.pre = "${pre}"; ferrum supports: ${[...PRE_TOKENIZERS.keys()].sort().join(', ')}`,
    );
    this.name = 'UnsupportedPreTokenizerError';
  }
}

export function preTokenizerSpec(pre: string): PreTokenizerSpec {
  const spec = PRE_TOKENIZERS.get(pre);
  if (!spec) throw new UnsupportedPreTokenizerError(pre);
  return spec;
}

// ---------------------------------------------------------------------------
// Splitting. Boundaries are code point indices; a split step refines the
// segments of the previous one, exactly like llama.cpp's list of offsets.

/** The text as code points, with each code point's offset in the JS string. */
interface CodepointText {
  readonly text: string;
  readonly cps: Uint32Array;
  /** UTF-16 offset of code point i; cu[n] = text.length. */
  readonly cu: Uint32Array;
}

function toCodepointText(text: string): CodepointText {
  const cps = codepointsOf(text);
  const cu = new Uint32Array(cps.length + 1);
  let o = 0;
  for (let i = 0; i < cps.length; i++) {
    cu[i] = o;
    o += cps[i]! > 0xffff ? 2 : 1;
  }
  cu[cps.length] = o;
  return { text, cps, cu };
}

/** Segment lengths (in code points), as llama.cpp's `bpe_offsets`. */
type Offsets = number[];

type Splitter = (t: CodepointText, offsets: Offsets) => Offsets;

const enum F {
  // llama.cpp's flags, reduced to what the splitters test.
  LETTER = 1,
  NUMBER = 2,
  WHITESPACE = 4,
  MARK = 8,
}

let splitFlags: Uint8Array | undefined;
/** Per code point: F bits (letter/number/whitespace/mark). */
function flagsTable(): Uint8Array {
  if (splitFlags) return splitFlags;
  const t = cptTable();
  const f = new Uint8Array(t.length);
  for (let c = 0; c < t.length; c++) {
    const v = t[c]!;
    const cat = v & CAT_MASK;
    f[c] = (cat === CAT_LETTER ? F.LETTER : 0) | (cat === CAT_NUMBER ? F.NUMBER : 0) | (cat === CAT_MARK ? F.MARK : 0) |
      (v & FLAG_WHITESPACE ? F.WHITESPACE : 0);
  }
  splitFlags = f;
  return f;
}

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const APOS = 0x27;

/** ASCII tolower: the only case folding the contraction rule can observe. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at pos, or 0. */
function contraction(cps: Uint32Array, pos: number, end: number, fold: boolean): number {
  if (cps[pos] !== APOS || pos + 1 >= end) return 0;
  const a = fold ? lower(cps[pos + 1]!) : cps[pos + 1]!;
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 < end) {
    const b = fold ? lower(cps[pos + 2]!) : cps[pos + 2]!;
    if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  }
  return 0;
}

/** GPT-2's regex, by hand: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
const splitGpt2: Splitter = (t, offsets) => {
  const out: Offsets = [];
  const cps = t.cps;
  const fl = flagsTable();
  let start = 0;
  for (const len of offsets) {
    const ini = start;
    const end = start + len;
    start = end;
    // Flags of pos, 0 outside the segment ("out of range": no class matches).
    const fAt = (p: number): number => (p < end ? fl[cps[p]!]! : 0);
    const inRange = (p: number): boolean => p < end;
    let prev = ini;
    const add = (p: number): void => {
      if (p > prev) out.push(p - prev);
      prev = p;
    };
    let pos = ini;
    while (pos < end) {
      const cpt = cps[pos]!;
      const c = contraction(cps, pos, end, false);
      if (c) {
        pos += c;
        add(pos);
        continue;
      }
      const isSpace = cpt === SPACE;
      const f2 = isSpace ? fAt(pos + 1) : fAt(pos);
      const f2in = isSpace ? inRange(pos + 1) : true;
      if (f2 & F.LETTER) {
        if (isSpace) pos++;
        while (fAt(pos) & F.LETTER) pos++;
        add(pos);
        continue;
      }
      if (f2 & F.NUMBER) {
        if (isSpace) pos++;
        while (fAt(pos) & F.NUMBER) pos++;
        add(pos);
        continue;
      }
      if (!(f2 & (F.WHITESPACE | F.LETTER | F.NUMBER)) && f2in) {
        if (isSpace) pos++;
        while (inRange(pos) && !(fAt(pos) & (F.WHITESPACE | F.LETTER | F.NUMBER))) pos++;
        add(pos);
        continue;
      }
      let nws = 0;
      while (fAt(pos + nws) & F.WHITESPACE) nws++;
      if (nws > 1 && inRange(pos + nws)) {
        pos += nws - 1;
        add(pos);
        continue;
      }
      if (nws > 0) {
        pos += nws;
        add(pos);
        continue;
      }
      add(++pos);
    }
  }
  return out;
};

/**
 * The Llama 3 / Qwen 2 / Qwen 3.5 family, by hand:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * with marks joining letters when `marks` (qwen35).
 */
function makeLlama3Splitter(maxDigits: number, marks: boolean): Splitter {
  return (t, offsets) => {
    const out: Offsets = [];
    const cps = t.cps;
    const fl = flagsTable();
    const WORD = marks ? F.LETTER | F.MARK : F.LETTER;
    const NOT_PUNCT = F.WHITESPACE | F.NUMBER | WORD;
    let start = 0;
    for (const len of offsets) {
      const ini = start;
      const end = start + len;
      start = end;
      const fAt = (p: number): number => (p < end ? fl[cps[p]!]! : 0);
      let prev = ini;
      const add = (p: number): void => {
        if (p > prev) out.push(p - prev);
        prev = p;
      };
      let pos = ini;
      while (pos < end) {
        const cpt = cps[pos]!;
        const flags = fl[cpt]!;
        const c = contraction(cps, pos, end, true);
        if (c) {
          pos += c;
          add(pos);
          continue;
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (!(cpt === CR || cpt === LF || flags & F.NUMBER)) {
          if (flags & WORD || fAt(pos + 1) & WORD) {
            pos++;
            while (fAt(pos) & WORD) pos++;
            add(pos);
            continue;
          }
        }
        // \p{N}{1,maxDigits}
        if (flags & F.NUMBER) {
          let from = pos;
          while (fAt(pos) & F.NUMBER) {
            if (++pos - from >= maxDigits) {
              add(pos);
              from = pos;
            }
          }
          add(pos);
          continue;
        }
        // <space>?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp tests the flags of the
        // space itself for "in range", so a space at the end is taken alone)
        const f2 = cpt === SPACE ? fAt(pos + 1) : flags;
        if (!(f2 & NOT_PUNCT)) {
          if (cpt === SPACE) pos++;
          while (pos < end && !(fAt(pos) & NOT_PUNCT)) pos++;
          while (pos < end && (cps[pos] === CR || cps[pos] === LF)) pos++;
          add(pos);
          continue;
        }
        let nws = 0;
        let lastCrLf = 0;
        while (fAt(pos + nws) & F.WHITESPACE) {
          const c2 = cps[pos + nws]!;
          if (c2 === CR || c2 === LF) lastCrLf = pos + nws + 1;
          nws++;
        }
        // \s*[\r\n]+
        if (lastCrLf > 0) {
          pos = lastCrLf;
          add(pos);
          continue;
        }
        // \s+(?!\S)
        if (nws > 1 && pos + nws < end) {
          pos += nws - 1;
          add(pos);
          continue;
        }
        if (nws > 0) {
          pos += nws;
          add(pos);
          continue;
        }
        add(++pos);
      }
    }
    return out;
  };
}

const CUSTOM_SPLITTERS: ReadonlyMap<string, Splitter> = new Map<string, Splitter>([
  [GPT2_RE, splitGpt2],
  [LLAMA3_RE, makeLlama3Splitter(3, false)],
  [QWEN2_RE, makeLlama3Splitter(1, false)],
  [QWEN35_RE, makeLlama3Splitter(1, true)],
]);

// --- the general path --------------------------------------------------------

/** The byte each category collapses to, and the ASCII members of the category. */
const COLLAPSE: Readonly<Record<string, { readonly marker: number; readonly ascii: string }>> = {
  N: { marker: 0xd1, ascii: '0-9' },
  L: { marker: 0xd2, ascii: 'A-Za-z' },
  P: { marker: 0xd3, ascii: '\\x21-\\x23\\x25-\\x2A\\x2C-\\x2F\\x3A-\\x3B\\x3F-\\x40\\x5B-\\x5D\\x5F\\x7B\\x7D' },
  M: { marker: 0xd4, ascii: '' },
  S: { marker: 0xd5, ascii: '\\x24\\x2B\\x3C-\\x3E\\x5E\\x60\\x7C\\x7E' },
};
const COLLAPSE_OTHER = 0xd0;
const COLLAPSE_SPACE = 0x0b;
const CATEGORY_MARKER: Readonly<Record<number, number>> = {
  [CAT_NUMBER]: 0xd1, [CAT_LETTER]: 0xd2, [CAT_PUNCTUATION]: 0xd3, [CAT_MARK]: 0xd4, [CAT_SYMBOL]: 0xd5,
};
const CATEGORY_RE = /\\p\{(L[ultmo]?|N|P|M|S)\}/;

// llama.cpp's std::regex sees \s as C isspace (non-ASCII White_Space has been
// replaced by \v before matching); JS's \s is wider, so spell it out.
const ASCII_SPACE_CLASS_BODY = '\\t-\\r ';

/** Translate one llama.cpp regex to a JS regex source over collapsed (or plain) text. */
function translateRegex(src: string, collapsed: boolean): string {
  let out = '';
  let inside = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '\\' && i + 1 < src.length) {
      const nx = src[i + 1]!;
      if (nx === 'p' && collapsed) {
        const m = CATEGORY_RE.exec(src.slice(i, i + 10));
        if (m && m.index === 0) {
          const c = COLLAPSE[m[1]![0]!]!;
          const body = `\\x${c.marker.toString(16).toUpperCase()}${c.ascii}`;
          out += inside ? body : `[${body}]`;
          i += m[0].length - 1;
          continue;
        }
      }
      if (nx === 's') {
        out += inside ? ASCII_SPACE_CLASS_BODY : `[${ASCII_SPACE_CLASS_BODY}]`;
        i++;
        continue;
      }
      if (nx === 'S') {
        if (inside) throw new Error(`cannot translate \\S inside a class in ${src}`);
        out += `[^${ASCII_SPACE_CLASS_BODY}]`;
        i++;
        continue;
      }
      out += ch + nx;
      i++;
      continue;
    }
    if (ch === '[' && !inside) inside = true;
    else if (ch === ']' && inside) inside = false;
    out += ch;
  }
  return out;
}

/** A regex step of the general path, compiled once. */
interface RegexStep {
  readonly collapsed: boolean;
  readonly re: RegExp;
}

const compiledSteps = new Map<string, RegexStep>();
function regexStep(src: string): RegexStep {
  let step = compiledSteps.get(src);
  if (!step) {
    const collapsed = CATEGORY_RE.test(src);
    // Like llama.cpp: a regex with categories runs on the collapsed bytes, one
    // without runs on the code points themselves.
    step = { collapsed, re: new RegExp(translateRegex(src, collapsed), collapsed ? 'g' : 'gu') };
    compiledSteps.set(src, step);
  }
  return step;
}

function collapsedText(t: CodepointText): string {
  const tbl = cptTable();
  const bytes = Buffer.allocUnsafe(t.cps.length);
  for (let i = 0; i < t.cps.length; i++) {
    const c = t.cps[i]!;
    if (c < 128) {
      bytes[i] = c;
      continue;
    }
    const v = tbl[c]!;
    bytes[i] = v & FLAG_WHITESPACE ? COLLAPSE_SPACE : CATEGORY_MARKER[v & CAT_MASK] ?? COLLAPSE_OTHER;
  }
  return bytes.toString('latin1');
}

/** The text with non-ASCII White_Space as \v, same UTF-16 layout (all are BMP). */
function spaceFoldedText(t: CodepointText): string {
  const tbl = cptTable();
  let out = '';
  let from = 0;
  for (let i = 0; i < t.text.length; i++) {
    const c = t.text.charCodeAt(i);
    if (c >= 128 && tbl[c]! & FLAG_WHITESPACE && !(c >= 0xd800 && c < 0xe000)) {
      out += t.text.slice(from, i) + '\v';
      from = i + 1;
    }
  }
  return from === 0 ? t.text : out + t.text.slice(from);
}

/** One regex over each segment: matches and the gaps between them become segments. */
function splitByRegex(t: CodepointText, src: string, offsets: Offsets, cache: { collapsed?: string; folded?: string; cuToCp?: Uint32Array }): Offsets {
  const step = regexStep(src);
  const out: Offsets = [];
  let target: string;
  let toUnit: (cp: number) => number;
  let toCp: (unit: number) => number;
  if (step.collapsed) {
    target = cache.collapsed ??= collapsedText(t);
    toUnit = (cp) => cp;
    toCp = (u) => u;
  } else {
    target = cache.folded ??= spaceFoldedText(t);
    const cuToCp = (cache.cuToCp ??= (() => {
      const m = new Uint32Array(t.text.length + 1);
      for (let i = 0; i < t.cps.length; i++) {
        m[t.cu[i]!] = i;
        if (t.cu[i + 1]! - t.cu[i]! === 2) m[t.cu[i]! + 1] = i;
      }
      m[t.text.length] = t.cps.length;
      return m;
    })());
    toUnit = (cp) => t.cu[cp]!;
    toCp = (u) => cuToCp[u]!;
  }
  const re = step.re;
  let start = 0;
  for (const len of offsets) {
    const segStart = start;
    start += len;
    // Each segment is matched on its own, as regex_iterator over a subrange:
    // lookaheads and $ see the segment's end as the end of input.
    const sub = target.slice(toUnit(segStart), toUnit(start));
    re.lastIndex = 0;
    let done = 0; // code points of the segment consumed
    let m: RegExpExecArray | null;
    while ((m = re.exec(sub)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      const mStart = toCp(toUnit(segStart) + m.index) - segStart;
      const mEnd = toCp(toUnit(segStart) + m.index + m[0].length) - segStart;
      if (mStart > done) out.push(mStart - done);
      out.push(mEnd - mStart);
      done = mEnd;
    }
    if (done < len) out.push(len - done);
  }
  return out;
}

/**
 * Split a text fragment into the words BPE merges within, as llama.cpp's
 * unicode_regex_split (without its byte encoding: the caller does that).
 */
export function preTokenize(text: string, spec: PreTokenizerSpec): string[] {
  if (text.length === 0) return [];
  const t = toCodepointText(text);
  let offsets: Offsets = [t.cps.length];
  const cache: { collapsed?: string; folded?: string; cuToCp?: Uint32Array } = {};
  for (const src of spec.regexes) {
    const custom = CUSTOM_SPLITTERS.get(src);
    offsets = custom ? custom(t, offsets) : splitByRegex(t, src, offsets, cache);
  }
  const words: string[] = new Array<string>(offsets.length);
  let cp = 0;
  for (let i = 0; i < offsets.length; i++) {
    const next = cp + offsets[i]!;
    words[i] = text.slice(t.cu[cp]!, t.cu[next]!);
    cp = next;
  }
  return words;
}
