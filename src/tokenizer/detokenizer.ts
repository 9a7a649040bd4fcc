/**
 * Token ids back to text, as llama.cpp's token_to_piece / llama_detokenize:
 * a piece is bytes (a byte token, or half a character of a byte-level BPE
 * token, is not text on its own), so decoding joins bytes and only then reads
 * UTF-8. The streaming decoder holds back an incomplete character until the
 * token that completes it arrives.
 */
import { CHAR_TO_BYTE, decodeUtf8, utf8Bytes } from './unicode.js';
import { TokenAttr, type Vocab } from './vocab.js';

const EMPTY = new Uint8Array(0);

export interface DecodeOptions {
  /** Render CONTROL and UNKNOWN tokens as their text (llama.cpp's `special` / unparse_special). */
  readonly showSpecial?: boolean;
  /**
   * Apply llama_detokenize's clean-up of spaces before punctuation and
   * contractions (" ," → ","), for vocabularies whose flags ask for it
   * (most gpt2 pre-tokenizers). Off by default: it loses information.
   */
  readonly cleanSpaces?: boolean;
}

export class Detokenizer {
  /** Piece bytes per token, with special tokens rendered (llama.cpp's cache_token_to_piece). */
  private readonly pieces: Uint8Array[];

  constructor(private readonly vocab: Vocab) {
    this.pieces = new Array<Uint8Array>(vocab.tokens.length);
  }

  private isHiddenSpecial(id: number): boolean {
    return (this.vocab.attrs[id]! & (TokenAttr.UNKNOWN | TokenAttr.CONTROL)) !== 0;
  }

  /** The bytes token `id` stands for; empty for hidden specials, or ids out of range. */
  pieceBytes(id: number, showSpecial: boolean): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) return EMPTY;
    if (!showSpecial && this.isHiddenSpecial(id)) return EMPTY;
    let p = this.pieces[id];
    if (!p) this.pieces[id] = p = this.computePiece(id);
    return p;
  }

  private computePiece(id: number): Uint8Array {
    const v = this.vocab;
    const attr = v.attrs[id]!;
    const text = v.tokens[id]!;
    if (attr & (TokenAttr.UNKNOWN | TokenAttr.CONTROL | TokenAttr.USER_DEFINED)) return utf8Bytes(text);
    if (attr & TokenAttr.NORMAL) {
      if (v.escapeWhitespaces) return utf8Bytes(text.replaceAll('\u2581', ' '));
      return decodeByteLevel(text);
    }
    if (attr & TokenAttr.BYTE) return Uint8Array.of(parseInt(text.slice(3, 5), 16));
    // UNUSED, UNDEFINED: llama.cpp renders nothing.
    return EMPTY;
  }

  /** Text of a sequence, as llama_detokenize(remove_special = false). */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const showSpecial = opts.showSpecial ?? false;
    const parts: Uint8Array[] = [];
    let total = 0;
    // SPM adds a space in front of the text; llama.cpp strips one from the first piece.
    let removeSpace = this.vocab.addSpacePrefix;
    for (const id of ids) {
      let p = this.pieceBytes(id, showSpecial);
      if (removeSpace && p.length > 0 && p[0] === 0x20) p = p.subarray(1);
      removeSpace = false;
      parts.push(p);
      total += p.length;
    }
    let bytes = concat(parts, total);
    if (opts.cleanSpaces && this.vocab.cleanSpaces) bytes = cleanSpaces(bytes);
    return decodeUtf8(bytes);
  }

  /** A decoder for generated tokens, one at a time. */
  stream(opts: { showSpecial?: boolean } = {}): StreamingDecoder {
    return new StreamingDecoder(this, opts.showSpecial ?? false);
  }
}

/** Byte-level BPE token text → bytes (llama_decode_text). */
function decodeByteLevel(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = CHAR_TO_BYTE.get(cp);
    if (b !== undefined) {
      out.push(b);
      continue;
    }
    // llama.cpp's marker for a character outside the byte alphabet.
    const u = utf8Bytes(ch);
    const marker = `[UNK_BYTE_0x${[...u].map((x) => x.toString(16).padStart(2, '0')).join('')}${text}]`;
    out.push(...utf8Bytes(marker));
  }
  return Uint8Array.from(out);
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** llama_detokenize's three clean-up passes over the bytes. */
function cleanSpaces(text: Uint8Array): Uint8Array {
  const t = Array.from(text);
  const SP = 0x20;
  const Q = 0x27;
  // " ?" " !" " ." " ," lose their space
  let a: number[] = t.length ? [t[0]!] : [];
  for (let i = 1; i < t.length; i++) {
    const x = t[i]!;
    if (t[i - 1] === SP && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) a.pop();
    a.push(x);
  }
  // " ' " becomes "'"
  let b: number[] = a.length ? [a[0]!] : [];
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    if (x === Q && i + 1 < a.length && a[i - 1] === SP && a[i + 1] === SP) {
      b.pop();
      b.push(x);
      // llama.cpp overwrites the skipped space with NUL in place, and the next
      // step then sees NUL as its previous character.
      a[++i] = 0;
      continue;
    }
    b.push(x);
  }
  a = b;
  // " 's" " 'm" " 're" " 've" lose their space
  b = a.length ? [a[0]!] : [];
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    if (a[i - 1] === SP && x === Q && i + 1 < a.length) {
      const x1 = a[i + 1]!;
      if (x1 === 0x73 || x1 === 0x6d) b.pop();
      else if (i + 2 < a.length) {
        const x2 = a[i + 2]!;
        if ((x1 === 0x72 && x2 === 0x65) || (x1 === 0x76 && x2 === 0x65)) b.pop();
      }
    }
    b.push(x);
  }
  return Uint8Array.from(b);
}

/**
 * Turns generated token ids into text chunks safe to print: bytes of a
 * character split across tokens wait until the character is complete, so a
 * chunk never ends in half an emoji.
 */
export class StreamingDecoder {
  private pending: Uint8Array = EMPTY;

  constructor(private readonly detok: Detokenizer, private readonly showSpecial: boolean) {}

  /** Text completed by this token ('' while a character is still incomplete). */
  push(id: number): string {
    const p = this.detok.pieceBytes(id, this.showSpecial);
    if (p.length === 0) return '';
    const buf = this.pending.length ? concat([this.pending, p], this.pending.length + p.length) : p;
    const cut = completePrefix(buf);
    this.pending = cut < buf.length ? buf.slice(cut) : EMPTY;
    return cut > 0 ? decodeUtf8(buf.subarray(0, cut)) : '';
  }

  /** Whatever is still held (an incomplete character at the end of generation), as text with U+FFFD. */
  flush(): string {
    const rest = this.pending;
    this.pending = EMPTY;
    return rest.length ? decodeUtf8(rest) : '';
  }

  /** Bytes held back. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}

/**
 * Length of the longest prefix that does not end inside a UTF-8 sequence that
 * could still be completed. Invalid bytes are let through (they decode to
 * U+FFFD) rather than held forever.
 */
function completePrefix(b: Uint8Array): number {
  const n = b.length;
  // Look at most 3 bytes back for the start of the last sequence.
  for (let back = 1; back <= Math.min(4, n); back++) {
    const c = b[n - back]!;
    if ((c & 0xc0) === 0x80) continue; // continuation: keep looking for the lead
    const need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 1;
    return back < need ? n - back : n;
  }
  return n;
}
