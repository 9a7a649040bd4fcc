/**
 * `ferrum inspect model.gguf --tokenize "text"`: the ids and pieces of the
 * text alone (no BOS), for debugging prompts. Special-token strings are parsed
 * only with `special`. Pieces show whitespace and control characters visibly;
 * a byte that is not a whole character shows as <0xNN>.
 */
import type { GgufFile } from '../gguf/index.js';
import { type Tokenizer, loadTokenizer } from './index.js';

export interface InspectTokenizeOptions {
  /** Parse special-token strings such as <|im_start|> (llama.cpp's parse_special). */
  readonly special: boolean;
  /** Print {"tokens": [...], "pieces": [...]} instead of a table. */
  readonly json: boolean;
}

/** Piece bytes as text: valid UTF-8 decoded, every other byte as <0xNN>. */
export function pieceText(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ok = need > 0 && i + need <= bytes.length;
    for (let k = 1; ok && k < need; k++) ok = (bytes[i + k]! & 0xc0) === 0x80;
    if (ok) {
      const s = Buffer.from(bytes.subarray(i, i + need)).toString('utf8');
      // Overlong or surrogate sequences decode to U+FFFD: show them as bytes too.
      if (s !== '\uFFFD' || (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd)) {
        out += s;
        i += need;
        continue;
      }
    }
    out += `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    i++;
  }
  return out;
}

/** Whitespace and control characters made visible for the table. */
function visible(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === ' ') out += '␣';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c === 0xa0 || c === 0x200b || c === 0x200c || c === 0x200d || c === 0xfeff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

export function inspectTokenizeWith(tok: Tokenizer, text: string, opts: InspectTokenizeOptions): string {
  const ids = tok.encode(text, { addBos: false, parseSpecial: opts.special });
  const pieces = ids.map((id) => pieceText(tok.pieceBytes(id, { showSpecial: true })));
  if (opts.json) return JSON.stringify({ tokens: ids, pieces }) + '\n';
  const width = Math.max(2, ...ids.map((id) => String(id).length));
  const lines = [`${'id'.padStart(width)}  piece`];
  ids.forEach((id, i) => {
    const kind = tok.isControl(id) ? '  (control)' : '';
    lines.push(`${String(id).padStart(width)}  '${visible(pieces[i]!)}'${kind}`);
  });
  lines.push(`${ids.length} token${ids.length === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

/** The output of `ferrum inspect FILE --tokenize TEXT [--special] [--json]`. */
export function inspectTokenize(file: GgufFile, text: string, opts: InspectTokenizeOptions): string {
  return inspectTokenizeWith(loadTokenizer(file), text, opts);
}
