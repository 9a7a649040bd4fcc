/**
 * Code point classes as llama.cpp's unicode.cpp sees them: the General_Category
 * of Unicode 15.1 (not Node's ICU, whose version varies by Node build) plus
 * White_Space; and the GPT-2 byte <-> character mapping of byte-level BPE.
 */
import { CATEGORY_RUNS, WHITE_SPACE } from './unicode-data.js';

/** Category codes as stored in the table (bits 0-2). 0 is Cn: unassigned. */
export const CAT_UNDEFINED = 0;
export const CAT_LETTER = 1;
export const CAT_NUMBER = 2;
export const CAT_PUNCTUATION = 3;
export const CAT_MARK = 4;
export const CAT_SYMBOL = 5;
export const CAT_SEPARATOR = 6;
export const CAT_CONTROL = 7;
export const CAT_MASK = 7;
/** Bit 3: White_Space (llama.cpp's `is_whitespace`, what its splitters call \s). */
export const FLAG_WHITESPACE = 8;

export const MAX_CODEPOINT = 0x10ffff;

let table: Uint8Array | undefined;

/** One byte a code point; built on first use (1.1 MB, about a millisecond). */
export function cptTable(): Uint8Array {
  if (table) return table;
  const t = new Uint8Array(MAX_CODEPOINT + 1);
  let pos = 0;
  for (const run of CATEGORY_RUNS.split(',')) {
    const len = parseInt(run.slice(0, -1), 36);
    const cat = run.charCodeAt(run.length - 1) - 48;
    if (cat !== 0) t.fill(cat, pos, pos + len);
    pos += len;
  }
  if (pos !== MAX_CODEPOINT + 1) throw new Error(`unicode table covers ${pos} code points, expected ${MAX_CODEPOINT + 1}`);
  for (const c of WHITE_SPACE) t[c]! |= FLAG_WHITESPACE;
  table = t;
  return t;
}

export function cptCategory(cp: number): number {
  return cptTable()[cp]! & CAT_MASK;
}

export function isWhitespaceCpt(cp: number): boolean {
  return (cptTable()[cp]! & FLAG_WHITESPACE) !== 0;
}

/** Code points of a string (surrogate pairs joined; the caller passes well-formed text). */
export function codepointsOf(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        out[n++] = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Number of UTF-8 bytes a code point takes. */
export function utf8Len(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

const encoder = new TextEncoder();
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * GPT-2's bytes_to_unicode: printable bytes map to themselves, the other 68
 * to U+0100 onwards, so that any byte string is a string of visible characters.
 */
function buildByteMaps(): { byteToChar: string[]; charToByte: Map<number, number> } {
  const byteToChar: string[] = new Array<string>(256);
  const charToByte = new Map<number, number>();
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const cp = printable(b) ? b : 256 + n++;
    byteToChar[b] = String.fromCharCode(cp);
    charToByte.set(cp, b);
  }
  return { byteToChar, charToByte };
}

const byteMaps = buildByteMaps();
/** byte → its GPT-2 character. */
export const BYTE_TO_CHAR: readonly string[] = byteMaps.byteToChar;
/** GPT-2 character code point → byte. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = byteMaps.charToByte;

/** The byte-level BPE form of a text: its UTF-8 bytes, each as its GPT-2 character. */
export function byteEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // ASCII printable maps to itself: the common case needs no UTF-8 encoding.
    if (c >= 0x21 && c <= 0x7e) {
      out += text[i];
      continue;
    }
    const bytes = utf8Bytes(text.slice(i, i + (c >= 0xd800 && c < 0xdc00 ? 2 : 1)));
    if (c >= 0xd800 && c < 0xdc00) i++;
    for (const b of bytes) out += BYTE_TO_CHAR[b];
  }
  return out;
}

/** ASCII isspace() in the C locale, which llama.cpp uses for LSTRIP/RSTRIP. */
export function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with lone surrogates as U+FFFD: what its UTF-8 encoding reads back as. */
export function wellFormed(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

// ignoreBOM: a U+FEFF at the start of a text is content here, not a marker to drop.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
/** UTF-8 bytes as text; invalid sequences become U+FFFD, as when llama.cpp's output is read as UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
