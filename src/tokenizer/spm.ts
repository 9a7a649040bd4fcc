/**
 * SentencePiece-style tokenization (tokenizer.ggml.model = "llama") as
 * llama.cpp's llm_tokenizer_spm_session does it: start from UTF-8 characters,
 * repeatedly merge the adjacent pair whose concatenation is the
 * highest-scoring token (ties: leftmost), then emit each symbol as its token
 * or, failing that, as byte tokens <0xNN>.
 *
 * Speed: llama.cpp runs one merge queue over a whole fragment. Merges are
 * local, so the text can be cut wherever no token could ever span the cut:
 * before "▁" (the escaped space) unless some token contains "x▁" for the
 * character x in front, and beside any character that no token of two or
 * more characters contains. Each piece's tokens are cached. Same result, and
 * each distinct word is tokenized once.
 */
import { BinaryHeap } from './heap.js';
import { utf8Bytes } from './unicode.js';
import type { Vocab } from './vocab.js';

const SPACE_MARK = '\u2581';
const SPACE_MARK_CODE = 0x2581;

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** Combined length at creation; a different sum later means one side merged since. */
  size: number;
}

function bigramBefore(a: Bigram, b: Bigram): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

export class SpmTokenizer {
  private readonly cache = new Map<string, readonly number[]>();
  /** Characters x such that some token contains "x▁": no cut between them and a ▁. */
  private readonly glueBeforeSpace: ReadonlySet<number>;
  private readonly inMultiBmp: Uint8Array;
  private readonly inMultiAstral: Set<number>;
  private readonly byteTokens: Int32Array;

  constructor(private readonly vocab: Vocab) {
    const glue = new Set<number>();
    const multi = new Set<number>();
    for (const t of vocab.tokens) {
      const first = t.codePointAt(0)!;
      if (t.length <= (first > 0xffff ? 2 : 1)) continue; // one code point: no pair inside
      let prev = -1;
      for (let i = 0; i < t.length; ) {
        const cp = t.codePointAt(i)!;
        multi.add(cp);
        if (prev >= 0 && cp === SPACE_MARK_CODE) glue.add(prev);
        prev = cp;
        i += cp > 0xffff ? 2 : 1;
      }
    }
    this.glueBeforeSpace = glue;
    this.inMultiBmp = new Uint8Array(0x10000);
    this.inMultiAstral = new Set<number>();
    for (const c of multi) {
      if (c < 0x10000) this.inMultiBmp[c] = 1;
      else this.inMultiAstral.add(c);
    }
    this.byteTokens = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      const id = vocab.tokenToId.get(`<0x${hex}>`) ?? vocab.tokenToId.get(String.fromCharCode(b));
      if (id !== undefined) this.byteTokens[b] = id;
    }
  }

  /** Whether the code point occurs in some token of two or more code points (so merges can reach it). */
  private inMulti(cp: number): boolean {
    return cp < 0x10000 ? this.inMultiBmp[cp] === 1 : this.inMultiAstral.has(cp);
  }

  /** Tokenize raw text of one fragment (already prefixed with a space where llama.cpp adds one). */
  encode(text: string, out: number[]): void {
    const escaped = text.replaceAll(' ', SPACE_MARK);
    // Cut between two characters that no token contains side by side: before
    // a ▁ (unless some token has "x▁"), or next to a character no longer token has.
    let start = 0;
    let prev = -1;
    for (let i = 0; i < escaped.length; ) {
      const cp = escaped.codePointAt(i)!;
      if (i > start && (!this.inMulti(cp) || !this.inMulti(prev) || (cp === SPACE_MARK_CODE && !this.glueBeforeSpace.has(prev)))) {
        this.encodePiece(escaped.slice(start, i), out);
        start = i;
      }
      prev = cp;
      i += cp > 0xffff ? 2 : 1;
    }
    this.encodePiece(escaped.slice(start), out);
  }

  private encodePiece(piece: string, out: number[]): void {
    if (piece.length === 0) return;
    const hit = this.cache.get(piece);
    if (hit) {
      for (const id of hit) out.push(id);
      return;
    }
    const ids: number[] = [];
    this.bigramMerge(piece, ids);
    if (this.cache.size > 200_000) this.cache.clear();
    this.cache.set(piece, ids);
    for (const id of ids) out.push(id);
  }

  private bigramMerge(text: string, out: number[]): void {
    const vocab = this.vocab;
    // Symbols: one per code point, as (offset, length) into text, in a linked list.
    const symStart: number[] = [];
    const symLen: number[] = [];
    for (let i = 0; i < text.length; ) {
      const c = text.charCodeAt(i);
      const len = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length ? 2 : 1;
      symStart.push(i);
      symLen.push(len);
      i += len;
    }
    const n = symStart.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new BinaryHeap<Bigram>(bigramBefore);
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const s = text.slice(symStart[left]!, symStart[left]! + symLen[left]! + symLen[right]!);
      const id = vocab.tokenToId.get(s);
      if (id === undefined) return;
      heap.push({ left, right, score: vocab.scores[id]!, size: s.length });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const bg = heap.pop()!;
      const l = bg.left;
      const r = bg.right;
      if (symLen[l] === 0 || symLen[r] === 0 || symLen[l]! + symLen[r]! !== bg.size) continue;
      symLen[l] = symLen[l]! + symLen[r]!;
      symLen[r] = 0;
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryAdd(prev[l]!, l);
      tryAdd(l, next[l]!);
    }
    for (let i = 0; i !== -1; i = next[i]!) {
      const s = text.slice(symStart[i]!, symStart[i]! + symLen[i]!);
      const id = vocab.tokenToId.get(s);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // A symbol that never formed a token is a single character: its bytes.
      for (const b of utf8Bytes(s)) {
        const bt = this.byteTokens[b]!;
        if (bt >= 0) out.push(bt);
        else if (vocab.special.unk >= 0) out.push(vocab.special.unk);
        else throw new Error(`character ${JSON.stringify(s)} is not in the vocabulary and it has no byte tokens`);
      }
    }
  }
}

