/**
 * ferrum's tokens against llama.cpp's (node-llama-cpp, same GGUF) over the
 * corpus: every id must match, with and without special-token parsing;
 * detokenization must match llama_detokenize; and ferrum must round-trip
 * text wherever llama.cpp does.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../src/gguf/index.js';
import { type Tokenizer, loadTokenizer } from '../src/tokenizer/index.js';
import { llamaCppAvailable } from './helpers/llamacpp.js';
import { sharedFile } from './helpers/shared.js';
import { LlamaCppOracle, corpusTexts, fuzzTexts, lenmlFixture, vocabFixture } from './tokenizer-fixtures.js';

interface VocabCase {
  readonly name: string;
  /** Path of the GGUF, or undefined when its source is absent (skip). */
  readonly path: () => Promise<string | undefined>;
}

const shared = (rel: string) => async () => sharedFile(rel);
const qwen3Pre = (pre: string) => async () => vocabFixture({ gguf: await lenmlFixture('qwen3'), name: `qwen3-pre-${pre}`, overrides: { pre } });

const VOCABS: readonly VocabCase[] = [
  { name: 'llama-2 SPM (shared llama-2-tiny-random.gguf)', path: shared('models/llama-2-tiny-random.gguf') },
  { name: 'tolstoy 512-piece SPM (shared)', path: shared('models/tolstoy-tiny-F32.gguf') },
  { name: 'llama-2 from tokenizer.json (LlamaHfVocab layout)', path: () => lenmlFixture('llama2') },
  { name: 'llama-3 (gpt2, pre llama-bpe)', path: () => lenmlFixture('llama3') },
  { name: 'qwen-3 (gpt2, pre qwen2)', path: () => lenmlFixture('qwen3') },
  { name: 'gemma-3 (SPM, 262k, user-defined tokens)', path: () => lenmlFixture('gemma3') },
  { name: 'qwen-3 vocab, pre deepseek-v3', path: qwen3Pre('deepseek-v3') },
  { name: 'qwen-3 vocab, pre default', path: qwen3Pre('default') },
  { name: 'qwen-3 vocab, pre gpt-2', path: qwen3Pre('gpt-2') },
];

const corpus = corpusTexts(400);
const haveLlama = llamaCppAvailable();
const summary: string[] = [];

describe.skipIf(!corpus || !haveLlama)('tokens identical to llama.cpp', () => {
  const texts = corpus ? [...corpus.edge, ...corpus.prose, ...fuzzTexts(300)] : [];

  afterAll(() => {
    if (summary.length) console.log(['tokenizer parity with llama.cpp:', ...summary].join('\n  '));
  });

  for (const vc of VOCABS) {
    describe(vc.name, () => {
      let path: string | undefined;
      let tok: Tokenizer;
      let oracle: LlamaCppOracle;
      const line: Record<string, string> = {};
      /** llama.cpp's ids without special parsing, kept for the decode test. */
      let plainIds: Promise<number[][]> | undefined;
      const llamaIds = (special: boolean): Promise<number[][]> => {
        if (special) return oracle.tokenize(path!, texts, true);
        plainIds ??= oracle.tokenize(path!, texts, false);
        return plainIds;
      };

      beforeAll(async () => {
        path = await vc.path();
        if (!path) return;
        tok = loadTokenizer(readGguf(path), { warn: () => {} });
        oracle = new LlamaCppOracle();
      });
      afterAll(() => {
        oracle?.close();
        if (path) summary.push(`${vc.name}: ${Object.entries(line).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      });

      for (const special of [false, true]) {
        it(`every id matches (${texts.length} texts, parse_special=${special})`, async ({ skip }) => {
          if (!path) return skip();
          const theirs = await llamaIds(special);
          const bad: string[] = [];
          texts.forEach((t, i) => {
            const mine = tok.encode(t, { parseSpecial: special });
            if (JSON.stringify(mine) !== JSON.stringify(theirs[i])) {
              bad.push(`${JSON.stringify(t.slice(0, 60))}: ferrum ${JSON.stringify(mine.slice(0, 20))} llama.cpp ${JSON.stringify(theirs[i]!.slice(0, 20))}`);
            }
          });
          line[`special=${special}`] = `${texts.length} cases/${bad.length} mismatches`;
          expect(bad.slice(0, 5)).toEqual([]);
        });
      }

      it('decode matches llama_detokenize, and round-trips wherever llama.cpp does', async ({ skip }) => {
        if (!path) return skip();
        const ids = await llamaIds(false);
        const [plain, shown] = await Promise.all([oracle.detokenize(path, ids, false), oracle.detokenize(path, ids, true)]);
        const bad: string[] = [];
        let llamaRound = 0;
        let ferrumRound = 0;
        texts.forEach((t, i) => {
          const a = tok.decode(ids[i]!, { cleanSpaces: true });
          const b = tok.decode(ids[i]!, { cleanSpaces: true, showSpecial: true });
          if (a !== plain[i]) bad.push(`decode ${JSON.stringify(t.slice(0, 40))}: ${JSON.stringify(a.slice(0, 40))} vs ${JSON.stringify(plain[i]!.slice(0, 40))}`);
          if (b !== shown[i]) bad.push(`decode special ${JSON.stringify(t.slice(0, 40))}`);
          const back = tok.decode(tok.encode(t));
          if (back === t) ferrumRound++;
          if (plain[i] === t) {
            llamaRound++;
            if (back !== t) bad.push(`round trip lost ${JSON.stringify(t.slice(0, 40))} → ${JSON.stringify(back.slice(0, 40))}`);
          }
        });
        line['round trip'] = `llama.cpp ${llamaRound}/${texts.length}, ferrum ${ferrumRound}/${texts.length}`;
        expect(bad.slice(0, 5)).toEqual([]);
        expect(ferrumRound).toBeGreaterThanOrEqual(llamaRound);
      });

      it('special ids and flags as llama.cpp reads them', async ({ skip }) => {
        if (!path) return skip();
        const t = await oracle.tokens(path);
        expect({ bos: tok.bos ?? null, eos: tok.eos ?? null, eot: tok.eot ?? null, addBos: tok.addsBos, addEos: tok.addsEos })
          .toEqual({ bos: t.bos, eos: t.eos, eot: t.eot, addBos: t.add_bos, addEos: t.add_eos });
      });
    });
  }
});

describe('prompt tokens in ../shared/reference/llamacpp-greedy.jsonl', () => {
  const ref = sharedFile('reference/llamacpp-greedy.jsonl');
  const models = sharedFile('models/tolstoy-tiny-F32.gguf');
  it.skipIf(!ref || !models)('encode(prompt, {addBos: true}) gives llama.cpp\'s prompt_tokens', () => {
    const rows = readFileSync(ref!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { model: string; prompt_text: string; prompt_tokens: number[] });
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const tok = loadTokenizer(readGguf(sharedFile(`models/${r.model}`)!), { warn: () => {} });
      expect(tok.encode(r.prompt_text, { addBos: true })).toEqual(r.prompt_tokens);
    }
  });
});
