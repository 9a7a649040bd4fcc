/**
 * Splitting text on special tokens before tokenizing, as llama.cpp's
 * tokenizer_st_partition: each special token, longest first, cuts every raw
 * fragment where its text occurs. USER_DEFINED tokens always cut (like HF's
 * added tokens); CONTROL and UNKNOWN ones only when parsing special tokens.
 */
import { isAsciiSpace } from './unicode.js';
import { TokenAttr, type Vocab } from './vocab.js';

/** A piece of the input: raw text still to tokenize, or a token already decided. */
export type Fragment = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'token'; readonly id: number };

interface TrieNode {
  readonly next: Map<number, TrieNode>;
  id: number;
}

/** Per vocab and mode: a trie of the special texts that can cut, to find which occur in one pass. */
const tries = new WeakMap<Vocab, { all?: TrieNode; userOnly?: TrieNode }>();

function trieFor(vocab: Vocab, parseSpecial: boolean): TrieNode {
  let entry = tries.get(vocab);
  if (!entry) tries.set(vocab, (entry = {}));
  const key = parseSpecial ? 'all' : 'userOnly';
  const cached = entry[key];
  if (cached) return cached;
  const root: TrieNode = { next: new Map(), id: -1 };
  for (const id of vocab.specialTokens) {
    if (!parseSpecial && vocab.attrs[id]! & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) continue;
    const t = vocab.tokens[id]!;
    let node = root;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      let child = node.next.get(c);
      if (!child) node.next.set(c, (child = { next: new Map(), id: -1 }));
      node = child;
    }
    node.id = id;
  }
  entry[key] = root;
  return root;
}

/** Ids of the special tokens whose text occurs anywhere in `text`. */
function occurring(text: string, root: TrieNode): Set<number> {
  const found = new Set<number>();
  if (root.next.size === 0) return found;
  for (let i = 0; i < text.length; i++) {
    let node = root.next.get(text.charCodeAt(i));
    for (let j = i + 1; node; j++) {
      if (node.id >= 0) found.add(node.id);
      if (j >= text.length) break;
      node = node.next.get(text.charCodeAt(j));
    }
  }
  return found;
}

export function partitionSpecial(text: string, vocab: Vocab, parseSpecial: boolean): Fragment[] {
  if (text.length === 0) return [];
  let frags: Fragment[] = [{ kind: 'text', text }];
  // Cutting is sequential (longest token first over every fragment), so it
  // must visit tokens in order; but only those that occur at all can cut.
  const present = occurring(text, trieFor(vocab, parseSpecial));
  if (present.size === 0) return frags;
  for (const id of vocab.specialTokens) {
    if (!present.has(id)) continue;
    const attr = vocab.attrs[id]!;
    const needle = vocab.tokens[id]!;
    const next: Fragment[] = [];
    for (const f of frags) {
      if (f.kind !== 'text' || !f.text.includes(needle)) {
        next.push(f);
        continue;
      }
      let rest = f.text;
      for (;;) {
        const at = rest.indexOf(needle);
        if (at < 0) {
          if (rest.length > 0) next.push({ kind: 'text', text: rest });
          break;
        }
        let left = rest.slice(0, at);
        if (attr & TokenAttr.LSTRIP) {
          let e = left.length;
          while (e > 0 && isAsciiSpace(left.charCodeAt(e - 1))) e--;
          left = left.slice(0, e);
        }
        if (left.length > 0) next.push({ kind: 'text', text: left });
        next.push({ kind: 'token', id });
        rest = rest.slice(at + needle.length);
        if (attr & TokenAttr.RSTRIP) {
          let s = 0;
          while (s < rest.length && isAsciiSpace(rest.charCodeAt(s))) s++;
          rest = rest.slice(s);
        }
        if (rest.length === 0) break;
      }
    }
    frags = next;
  }
  return frags;
}
