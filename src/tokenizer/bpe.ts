/**
 * Byte-level BPE (tokenizer.ggml.model = "gpt2") as llama.cpp's
 * llm_tokenizer_bpe_session: pre-tokenize into words, write each word's UTF-8
 * bytes as GPT-2 characters, then merge adjacent symbols by the rank of the
 * pair in `tokenizer.ggml.merges` (lowest first, ties leftmost). Each distinct
 * word is merged once and cached.
 */
import { BinaryHeap } from './heap.js';
import { preTokenize } from './pre-tokenizers.js';
import { BYTE_TO_CHAR, byteEncode, utf8Bytes } from './unicode.js';
import type { Vocab } from './vocab.js';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  /** The pair's text when queued: stale once either side has changed. */
  text: string;
}

function bigramBefore(a: Bigram, b: Bigram): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
}

/**
 * Merge ranks over token ids, in an open-addressing table: (left id, right id)
 * → rank and the merged token's id. Used when every symbol that merging can
 * produce is itself a token (true of real byte-level vocabularies), so words
 * are merged as arrays of ints instead of strings.
 */
class MergeTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly rank: Int32Array;
  private readonly result: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size <<= 1;
    this.mask = size - 1;
    this.left = new Int32Array(size).fill(-1);
    this.right = new Int32Array(size);
    this.rank = new Int32Array(size);
    this.result = new Int32Array(size);
  }

  private slot(l: number, r: number): number {
    return (Math.imul(l, 0x9e3779b1) ^ Math.imul(r + 0x7f4a7c15, 0x85ebca77)) >>> 0 & this.mask;
  }

  /** Keeps the first (lowest) rank for a pair, as llama.cpp's emplace does. */
  add(l: number, r: number, rank: number, result: number): void {
    let i = this.slot(l, r);
    while (this.left[i] !== -1) {
      if (this.left[i] === l && this.right[i] === r) return;
      i = (i + 1) & this.mask;
    }
    this.left[i] = l;
    this.right[i] = r;
    this.rank[i] = rank;
    this.result[i] = result;
  }

  /** Slot of the pair, or -1. */
  find(l: number, r: number): number {
    let i = this.slot(l, r);
    for (;;) {
      const k = this.left[i]!;
      if (k === -1) return -1;
      if (k === l && this.right[i] === r) return i;
      i = (i + 1) & this.mask;
    }
  }

  rankAt(slot: number): number {
    return this.rank[slot]!;
  }

  resultAt(slot: number): number {
    return this.result[slot]!;
  }
}

// A queued pair as one number: rank in the high bits, left position in the low
// 24, so that number order is llama.cpp's order (lowest rank, then leftmost).
const POS_BITS = 2 ** 24;

/** A min-heap of numbers. */
class NumberHeap {
  private a = new Float64Array(64);
  size = 0;

  push(v: number): void {
    if (this.size === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    const a = this.a;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a[--this.size]!;
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.size = 0;
  }
}

/** A merge line split as llama.cpp splits it: at the first space after the first character. */
function splitMerge(m: string): readonly [string, string] {
  const pos = m.indexOf(' ', 1);
  return pos < 0 ? ['', ''] : [m.slice(0, pos), m.slice(pos + 1)];
}

export class BpeTokenizer {
  private rankMap: Map<string, number> | undefined;
  private readonly cache = new Map<string, readonly number[]>();
  /** Present when words can be merged over ids (see MergeTable). */
  private readonly table: MergeTable | undefined;
  /** Token id of each byte's GPT-2 character. */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly heap = new NumberHeap();

  /** `stringsOnly` forces llama.cpp's string algorithm (tests compare the two paths). */
  constructor(private readonly vocab: Vocab, opts: { stringsOnly?: boolean } = {}) {
    let intPath = !opts.stringsOnly;
    for (let b = 0; b < 256; b++) {
      const id = vocab.tokenToId.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) intPath = false;
      else this.byteIds[b] = id;
    }
    if (intPath) {
      const table = new MergeTable(vocab.merges.length);
      for (let i = 0; i < vocab.merges.length && intPath; i++) {
        const [a, b] = splitMerge(vocab.merges[i]!);
        const l = vocab.tokenToId.get(a);
        if (l === undefined) continue; // can never fire: every symbol is a token
        const r = vocab.tokenToId.get(b);
        if (r === undefined) continue;
        const res = vocab.tokenToId.get(a + b);
        if (res === undefined) intPath = false;
        else table.add(l, r, i, res);
      }
      if (intPath) this.table = table;
    }
  }

  /** "left right" → rank, as llama.cpp's bpe_ranks (first occurrence wins); only the string path needs it. */
  private get ranks(): Map<string, number> {
    if (!this.rankMap) {
      const m = new Map<string, number>();
      this.vocab.merges.forEach((merge, i) => {
        const [a, b] = splitMerge(merge);
        const key = `${a} ${b}`;
        if (!m.has(key)) m.set(key, i);
      });
      this.rankMap = m;
    }
    return this.rankMap;
  }

  /** Tokenize raw text of one fragment. */
  encode(text: string, out: number[]): void {
    const spec = this.vocab.preSpec!;
    const cache = this.cache;
    for (const word of preTokenize(text, spec)) {
      let ids = cache.get(word);
      if (ids === undefined) {
        const fresh: number[] = [];
        this.encodeWord(word, fresh);
        if (cache.size >= 500_000) cache.clear();
        cache.set(word, fresh);
        ids = fresh;
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  private encodeWord(raw: string, out: number[]): void {
    const vocab = this.vocab;
    if (vocab.ignoreMerges) {
      const whole = vocab.tokenToId.get(byteEncode(raw));
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    const bytes = utf8Bytes(raw);
    if (this.table && bytes.length < POS_BITS) this.mergeIds(bytes, out);
    else this.mergeStrings(byteEncode(raw), out);
  }

  /** BPE over token ids: the fast path. */
  private mergeIds(bytes: Uint8Array, out: number[]): void {
    const table = this.table!;
    const n = bytes.length;
    const sym = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      sym[i] = this.byteIds[bytes[i]!]!;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = this.heap;
    heap.clear();
    const tryAdd = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const slot = table.find(sym[l]!, sym[r]!);
      if (slot >= 0) heap.push(table.rankAt(slot) * POS_BITS + l);
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const key = heap.pop();
      const l = key % POS_BITS;
      const rank = (key - l) / POS_BITS;
      const r = next[l]!;
      // Stale unless the pair now at l is the one queued: same rank means same merge.
      if (sym[l] === -1 || r < 0) continue;
      const slot = table.find(sym[l]!, sym[r]!);
      if (slot < 0 || table.rankAt(slot) !== rank) continue;
      sym[l] = table.resultAt(slot);
      sym[r] = -1;
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryAdd(prev[l]!, l);
      tryAdd(l, next[l]!);
    }
    for (let i = 0; i !== -1; i = next[i]!) out.push(sym[i]!);
  }

  /** BPE over strings, exactly as llama.cpp: for vocabularies the fast path cannot serve. */
  private mergeStrings(word: string, out: number[]): void {
    const vocab = this.vocab;
    // Symbols: one per code point of the byte-encoded word.
    const sym: string[] = [];
    for (let i = 0; i < word.length; ) {
      const c = word.charCodeAt(i);
      const len = c >= 0xd800 && c < 0xdc00 && i + 1 < word.length ? 2 : 1;
      sym.push(word.slice(i, i + len));
      i += len;
    }
    const n = sym.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new BinaryHeap<Bigram>(bigramBefore);
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const rank = this.ranks.get(`${sym[left]} ${sym[right]}`);
      if (rank === undefined) return;
      heap.push({ left, right, rank, text: sym[left]! + sym[right]! });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const bg = heap.pop()!;
      const l = bg.left;
      const r = bg.right;
      if (sym[l] === '' || sym[r] === '' || sym[l]! + sym[r]! !== bg.text) continue;
      sym[l] = bg.text;
      sym[r] = '';
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryAdd(prev[l]!, l);
      tryAdd(l, next[l]!);
    }
    for (let i = 0; i !== -1; i = next[i]!) {
      const s = sym[i]!;
      if (s === '') continue;
      const id = vocab.tokenToId.get(s);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      // Not a token: llama.cpp looks up each byte of the symbol's UTF-8 text
      // as a one-byte token, keeping the hits (so only ASCII survives).
      for (let j = 0; j < s.length; j++) {
        const c = s.charCodeAt(j);
        if (c < 0x80) {
          const bid = vocab.tokenToId.get(s[j]!);
          if (bid !== undefined) out.push(bid);
        }
      }
    }
  }
}
