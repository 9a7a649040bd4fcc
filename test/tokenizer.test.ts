/**
 * The tokenizer's own behaviour: options, special tokens, streaming
 * detokenization, chat templates, errors, inspect output, the Unicode table,
 * and the layout of the vocab fixtures. (Parity with llama.cpp over the corpus
 * is tokenizer-llamacpp.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type GgufKV, GgufMetadata, GgufValueType, kv, readGguf, writeGguf } from '../src/gguf/index.js';
import { inspectTokenize } from '../src/tokenizer/inspect-tokenize.js';
import { PRE_TOKENIZERS, type Tokenizer, TokenType, UnsupportedPreTokenizerError, VocabError, loadTokenizer } from '../src/tokenizer/index.js';
import { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { preTokenize, preTokenizerSpec } from '../src/tokenizer/pre-tokenizers.js';
import { CAT_LETTER, CAT_NUMBER, CAT_UNDEFINED, cptCategory, isWhitespaceCpt } from '../src/tokenizer/unicode.js';
import { UNICODE_VERSION } from '../src/tokenizer/unicode-data.js';
import { sharedFile } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';
import { corpusTexts, fuzzTexts, lenmlFixture } from './tokenizer-fixtures.js';

const quiet = { warn: (): void => {} };

/** A GGUF with only the given metadata (enough for the tokenizer). */
function metadataOnly(entries: ReadonlyArray<readonly [string, GgufKV]>): string {
  const p = `${tempDir('tok')}/m.gguf`;
  writeGguf(p, { metadata: entries, tensors: [] });
  return p;
}

/** Every chunk the streaming decoder gives for these ids, then its flush. */
function streamed(tok: Tokenizer, ids: readonly number[]): string[] {
  const s = tok.stream();
  const chunks = ids.map((id) => s.push(id));
  chunks.push(s.flush());
  return chunks;
}

let qwen3: Tokenizer;
let llama3: Tokenizer;
let gemma3: Tokenizer;
beforeAll(async () => {
  qwen3 = loadTokenizer(readGguf(await lenmlFixture('qwen3')), quiet);
  llama3 = loadTokenizer(readGguf(await lenmlFixture('llama3')), quiet);
  gemma3 = loadTokenizer(readGguf(await lenmlFixture('gemma3')), quiet);
});

describe('vocab fixtures are laid out as convert_hf_to_gguf would', () => {
  it('qwen3: gpt2 model, pre qwen2, padded to 151936 with UNUSED, added tokens typed', async () => {
    const md = new GgufMetadata(readGguf(await lenmlFixture('qwen3')));
    expect(md.string('tokenizer.ggml.model')).toBe('gpt2');
    expect(md.string('tokenizer.ggml.pre')).toBe('qwen2');
    const types = md.numbers('tokenizer.ggml.token_type')!;
    const tokens = md.strings('tokenizer.ggml.tokens')!;
    expect(tokens.length).toBe(151936);
    expect(tokens[151935]).toBe('[PAD151935]');
    expect(types[151935]).toBe(TokenType.UNUSED);
    expect(types[tokens.indexOf('<|im_start|>')]).toBe(TokenType.CONTROL);
    expect(types[tokens.indexOf('<think>')]).toBe(TokenType.USER_DEFINED);
    // Not "special" in tokenizer.json, but looks special: CONTROL, as the converter decides.
    expect(types[tokens.indexOf('<|fim_prefix|>')]).toBe(TokenType.CONTROL);
    expect(md.bool('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(md.number('tokenizer.ggml.eos_token_id')).toBe(151645);
    expect(typeof md.string('tokenizer.chat_template')).toBe('string');
  });

  it('gemma3: SentencePiece layout with USER_DEFINED whitespace pieces pre-normalized to spaces', async () => {
    const md = new GgufMetadata(readGguf(await lenmlFixture('gemma3')));
    expect(md.string('tokenizer.ggml.model')).toBe('llama');
    expect(md.bool('tokenizer.ggml.add_space_prefix')).toBe(false);
    const tokens = md.strings('tokenizer.ggml.tokens')!;
    const types = md.numbers('tokenizer.ggml.token_type')!;
    expect(types[tokens.indexOf('<0x0A>')]).toBe(TokenType.BYTE);
    expect(types[138]).toBe(TokenType.USER_DEFINED);
    expect(tokens[138]).toBe('  ');
    expect(types[tokens.indexOf('<start_of_turn>')]).toBe(TokenType.CONTROL);
  });

  it('the tokenizer part of an existing GGUF can be re-hosted with another pre-tokenizer', async () => {
    const { vocabFixture } = await import('./tokenizer-fixtures.js');
    const p = await vocabFixture({ gguf: await lenmlFixture('qwen3'), name: 'qwen3-pre-gpt-2', overrides: { pre: 'gpt-2' } });
    const t = loadTokenizer(readGguf(p), quiet);
    expect(t.vocab.pre).toBe('gpt-2');
    expect(t.nVocab).toBe(151936);
  });
});

describe('encode', () => {
  it('addBos follows the model: BOS for Llama 3 and Gemma 3, none for Qwen 3', () => {
    expect(llama3.encode('hi', { addBos: true })[0]).toBe(128000);
    expect(llama3.encode('hi')[0]).not.toBe(128000);
    expect(gemma3.encode('hi', { addBos: true })[0]).toBe(2);
    expect(qwen3.encode('hi', { addBos: true })).toEqual(qwen3.encode('hi'));
  });

  it('control tokens in the text are parsed only with parseSpecial; USER_DEFINED ones always', () => {
    expect(qwen3.encode('<|im_start|>', { parseSpecial: true })).toEqual([151644]);
    expect(qwen3.encode('<|im_start|>').length).toBeGreaterThan(1);
    expect(qwen3.encode('<think>')).toEqual([151667]);
  });

  it('lone surrogates tokenize as U+FFFD, as their UTF-8 does', () => {
    expect(qwen3.encode('a\ud800b')).toEqual(qwen3.encode('a\ufffdb'));
  });

  it('BPE over token ids (the fast path) gives what the string algorithm gives', () => {
    const texts = [...(corpusTexts(100)?.prose ?? []), ...fuzzTexts(400, 777)];
    for (const tok of [qwen3, llama3]) {
      const fast = new BpeTokenizer(tok.vocab);
      const slow = new BpeTokenizer(tok.vocab, { stringsOnly: true });
      for (const t of texts) {
        const a: number[] = [];
        const b: number[] = [];
        fast.encode(t, a);
        slow.encode(t, b);
        expect(a).toEqual(b);
      }
    }
  });

  it('the empty string is no tokens (and just BOS with addBos)', () => {
    expect(llama3.encode('')).toEqual([]);
    expect(llama3.encode('', { addBos: true })).toEqual([128000]);
  });
});

describe('decode and streaming', () => {
  it('hides control tokens unless asked', () => {
    const ids = qwen3.encode('<|im_start|>user\nhi<|im_end|>', { parseSpecial: true });
    expect(qwen3.decode(ids)).toBe('user\nhi');
    expect(qwen3.decode(ids, { showSpecial: true })).toBe('<|im_start|>user\nhi<|im_end|>');
  });

  it('holds back a character split across byte tokens until it is complete (SPM byte fallback)', ({ skip }) => {
    const p = sharedFile('models/llama-2-tiny-random.gguf');
    if (!p) return skip();
    const tok = loadTokenizer(readGguf(p), quiet);
    const ids = tok.encode('😀!');
    // ▁, four byte tokens, !
    expect(ids.length).toBe(6);
    const chunks = streamed(tok, ids);
    expect(chunks).toEqual([' ', '', '', '', '😀', '!', '']);
  });

  it('holds back partial characters of byte-level BPE tokens, and never emits U+FFFD for complete text', () => {
    for (const text of ['中文字😀 👨‍👩‍👧‍👦 🇯🇵 ℝ²', 'Привет, мир! नमस्ते दुनिया', 'mixed ascii and ünïcödé']) {
      for (const tok of [qwen3, llama3, gemma3]) {
        const ids = tok.encode(text);
        const chunks = streamed(tok, ids);
        expect(chunks.join('')).toBe(text.startsWith(' ') || tok.vocab.addSpacePrefix ? (tok.vocab.addSpacePrefix ? ' ' : '') + text : text);
        for (const c of chunks) expect(c).not.toContain('\ufffd');
      }
    }
  });

  it('flush gives an incomplete tail as U+FFFD; pendingBytes says what is held', () => {
    const s = qwen3.stream();
    const ids = qwen3.encode('😀');
    // A byte-level emoji that is one token: feed a token whose piece is a partial character instead.
    const partial = qwen3.vocab.tokenToId.get('ð') ?? -1; // byte 0xF0 alone
    expect(partial).toBeGreaterThanOrEqual(0);
    expect(s.push(partial)).toBe('');
    expect(s.pendingBytes).toBe(1);
    expect(s.flush()).toBe('\ufffd');
    expect(ids.length).toBeGreaterThan(0);
  });

  it('piece() renders special tokens by default and UNUSED padding as nothing', () => {
    expect(qwen3.piece(151644)).toBe('<|im_start|>');
    expect(qwen3.piece(151644, { showSpecial: false })).toBe('');
    expect(qwen3.piece(151935)).toBe('');
    expect(qwen3.tokenText(151935)).toBe('[PAD151935]');
  });

  it('isEog: EOS, EOT and end-of-turn tokens', () => {
    expect(qwen3.isEog(151645)).toBe(true); // <|im_end|>
    expect(qwen3.isEog(151643)).toBe(true); // <|endoftext|>
    expect(qwen3.isEog(qwen3.encode('hello')[0]!)).toBe(false);
    expect(llama3.isEog(128009)).toBe(true); // <|eot_id|>
    expect(gemma3.isEog(106)).toBe(true); // <end_of_turn>
    expect(llama3.eot).toBe(128009);
  });
});

describe('chat templates', () => {
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi!' }] as const;

  it('Qwen 3: enable_thinking passes through', () => {
    const off = qwen3.formatChat(messages, { enableThinking: false }).text;
    expect(off).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    const on = qwen3.formatChat(messages).text;
    expect(on.endsWith('<|im_start|>assistant\n')).toBe(true);
    expect(qwen3.formatChat(messages, { addGenerationPrompt: false }).text.endsWith('<|im_end|>\n')).toBe(true);
  });

  it('Llama 3 writes bos_token itself: encodeChat does not double it', () => {
    const text = llama3.formatChat(messages).text;
    expect(text.startsWith('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n')).toBe(true);
    const ids = llama3.encodeChat(messages);
    expect(ids[0]).toBe(128000);
    expect(ids[1]).toBe(128006);
  });

  it('Gemma 3', () => {
    expect(gemma3.formatChat([{ role: 'user', content: 'Hi!' }]).text).toBe('<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n');
    expect(gemma3.encodeChat([{ role: 'user', content: 'Hi!' }]).slice(0, 2)).toEqual([2, 105]);
  });

  it('a model without a template falls back to plain completion, said once', () => {
    const said: string[] = [];
    const p = metadataOnly([
      ['tokenizer.ggml.model', kv.str('llama')],
      ['tokenizer.ggml.tokens', kv.arr(GgufValueType.STRING, ['<unk>', '<s>', '</s>', '▁hi', '▁', 'h', 'i'])],
    ]);
    const tok = loadTokenizer(readGguf(p), { warn: (m) => said.push(m) });
    expect(tok.chatTemplate).toBeUndefined();
    expect(tok.formatChat([{ role: 'user', content: 'hi' }])).toEqual({ text: 'hi', templated: false });
    tok.formatChat([{ role: 'user', content: 'again' }]);
    expect(said.filter((m) => m.includes('no chat template'))).toHaveLength(1);
    // Plain text gets the model's BOS, as a completion prompt does.
    expect(tok.encodeChat([{ role: 'user', content: 'hi' }])).toEqual([1, ...tok.encode('hi')]);
  });
});

describe('errors', () => {
  const gpt2 = (pre?: string): string => metadataOnly([
    ['tokenizer.ggml.model', kv.str('gpt2')],
    ...(pre === undefined ? [] : [['tokenizer.ggml.pre', kv.str(pre)] as const]),
    ['tokenizer.ggml.tokens', kv.arr(GgufValueType.STRING, ['a', 'b', 'ab'])],
    ['tokenizer.ggml.merges', kv.arr(GgufValueType.STRING, ['a b'])],
  ]);

  it('an unknown tokenizer.ggml.pre is an error naming the supported ones', () => {
    expect(() => loadTokenizer(readGguf(gpt2('no-such-pre')), quiet)).toThrow(UnsupportedPreTokenizerError);
    expect(() => loadTokenizer(readGguf(gpt2('no-such-pre')), quiet)).toThrow(/"no-such-pre".*supports:.*deepseek-v3.*llama-bpe.*qwen2/);
  });

  it('a missing tokenizer.ggml.pre falls back to "default" with a warning, as llama.cpp does', () => {
    const said: string[] = [];
    const tok = loadTokenizer(readGguf(gpt2()), { warn: (m) => said.push(m) });
    expect(tok.vocab.preSpec?.type).toBe('default');
    expect(said.join()).toMatch(/missing pre-tokenizer/);
    expect(tok.encode('ab')).toEqual([2]);
  });

  it('an unsupported tokenizer model, or none at all, is a clear error', () => {
    const bert = metadataOnly([['tokenizer.ggml.model', kv.str('bert')], ['tokenizer.ggml.tokens', kv.arr(GgufValueType.STRING, ['a'])]]);
    expect(() => loadTokenizer(readGguf(bert), quiet)).toThrow(/"bert".*supports: llama, gpt2/);
    const none = metadataOnly([['general.architecture', kv.str('llama')]]);
    expect(() => loadTokenizer(readGguf(none), quiet)).toThrow(VocabError);
  });

  it('gpt2 without merges is an error', () => {
    const p = metadataOnly([['tokenizer.ggml.model', kv.str('gpt2')], ['tokenizer.ggml.pre', kv.str('gpt-2')], ['tokenizer.ggml.tokens', kv.arr(GgufValueType.STRING, ['a'])]]);
    expect(() => loadTokenizer(readGguf(p), quiet)).toThrow(/merges/);
  });

  it('supports at least the pre-tokenizers the issue names', () => {
    for (const pre of ['default', 'llama-bpe', 'qwen2', 'gpt-2', 'deepseek-v3']) expect(PRE_TOKENIZERS.has(pre)).toBe(true);
  });
});

describe('ferrum inspect --tokenize', () => {
  it('a table of ids and pieces with visible whitespace, no BOS', () => {
    const out = inspectTokenize(readGguf(qwen3Path()), 'Hi there\n\tok', { special: false, json: false });
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*id\s+piece$/);
    expect(out).toContain("'␣there'");
    expect(out).toContain("'\\n'");
    expect(out).toContain("'\\tok'");
    expect(lines.at(-1)).toMatch(/^\d+ tokens$/);
    expect(out).not.toContain('151643');
  });

  it('JSON: {"tokens": [...], "pieces": [...]}; special strings parsed only with special', () => {
    const plain = JSON.parse(inspectTokenize(readGguf(qwen3Path()), '<|im_start|>hi', { special: false, json: true })) as { tokens: number[]; pieces: string[] };
    expect(plain.tokens).toEqual(qwen3.encode('<|im_start|>hi'));
    expect(plain.pieces.join('')).toBe('<|im_start|>hi');
    const special = JSON.parse(inspectTokenize(readGguf(qwen3Path()), '<|im_start|>hi', { special: true, json: true })) as { tokens: number[]; pieces: string[] };
    expect(special.tokens[0]).toBe(151644);
    expect(special.pieces[0]).toBe('<|im_start|>');
    const table = inspectTokenize(readGguf(qwen3Path()), '<|im_start|>hi', { special: true, json: false });
    expect(table).toMatch(/151644 {2}'<\|im_start\|>' {2}\(control\)/);
  });

  it('a byte that is not a whole character shows as <0xNN>', ({ skip }) => {
    const p = sharedFile('models/llama-2-tiny-random.gguf');
    if (!p) return skip();
    const j = JSON.parse(inspectTokenize(readGguf(p), '😀', { special: false, json: true })) as { tokens: number[]; pieces: string[] };
    expect(j.pieces).toEqual([' ', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
  });
});

let qwen3File = '';
function qwen3Path(): string {
  return qwen3File;
}
beforeAll(async () => {
  qwen3File = await lenmlFixture('qwen3');
});

describe('pre-tokenizers and the Unicode table', () => {
  it('categories are Unicode 15.1 (llama.cpp\'s), whatever ICU this Node has', () => {
    expect(UNICODE_VERSION).toBe('15.1.0');
    expect(cptCategory(0x41)).toBe(CAT_LETTER);
    expect(cptCategory(0x661)).toBe(CAT_NUMBER);
    expect(cptCategory(0x897)).toBe(CAT_UNDEFINED); // assigned in Unicode 16
    expect(isWhitespaceCpt(0x3000)).toBe(true);
    expect(isWhitespaceCpt(0xfeff)).toBe(false);
  });

  it('llama3 splitting', () => {
    expect(preTokenize("Hello world's 12345   x\n\n y", preTokenizerSpec('llama-bpe'))).toEqual(
      ['Hello', ' world', "'s", ' ', '123', '45', '  ', ' x', '\n\n', ' y'],
    );
  });

  it('deepseek-v3 splitting: digits in threes, CJK runs, punctuation', () => {
    expect(preTokenize('abc 1234 中文字 x.y', preTokenizerSpec('deepseek-v3'))).toEqual(['abc', ' ', '123', '4', ' ', '中文字', ' x', '.y']);
  });
});
