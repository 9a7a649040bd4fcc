/**
 * llama.cpp's own tokenizer tests (models/ggml-vocab-*.gguf with .inp/.out:
 * inputs and the ids of the original tokenizers, no BOS, no special parsing),
 * run against ferrum. The files come from the llama.cpp source that
 * node-llama-cpp ships as a git bundle: cloned (locally, no network) into a
 * cache dir on first use.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from '../src/gguf/index.js';
import { SUPPORTED_TOKENIZER_MODELS, loadTokenizer } from '../src/tokenizer/index.js';
import { llamaCppAvailable } from './helpers/llamacpp.js';
import { IS_CI, REPO_ROOT } from './helpers/shared.js';
import { EXTRA_CASES, LlamaCppOracle, fuzzTexts } from './tokenizer-fixtures.js';

const BUNDLE = resolve(REPO_ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');

function hasGit(): boolean {
  return spawnSync('git', ['--version']).status === 0;
}

/** A directory with llama.cpp's models/ggml-vocab-* files, or a reason there is none. */
function llamaCppModelsDir(): { dir?: string; why?: string } {
  const candidates = [process.env.FERRUM_LLAMA_CPP_DIR, join(homedir(), '.cache/ferrum/llama.cpp')].filter((d): d is string => !!d);
  for (const d of candidates) if (existsSync(join(d, 'models/ggml-vocab-llama-spm.gguf.inp'))) return { dir: join(d, 'models') };
  if (!existsSync(BUNDLE)) return { why: `${BUNDLE} is missing (node-llama-cpp not installed)` };
  if (!hasGit()) return { why: 'git is not installed, so the llama.cpp bundle cannot be opened' };
  const dest = join(homedir(), '.cache/ferrum/llama.cpp-vocab-tests');
  if (!existsSync(join(dest, 'models/ggml-vocab-llama-spm.gguf.inp'))) {
    mkdirSync(join(homedir(), '.cache/ferrum'), { recursive: true });
    const tmp = `${dest}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    // Only models/ is checked out: the rest of the tree is not needed here.
    const clone = spawnSync('git', ['clone', '-q', '--no-checkout', BUNDLE, tmp], { encoding: 'utf8' });
    const co = clone.status === 0 ? spawnSync('git', ['-C', tmp, 'checkout', 'HEAD', '--', 'models'], { encoding: 'utf8' }) : clone;
    if (co.status !== 0) return { why: `git could not open ${BUNDLE}: ${co.stderr}` };
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  }
  return { dir: join(dest, 'models') };
}

/** The cases of one vocab, read as test-tokenizer-0.cpp reads them (a map: a repeated input keeps its last ids). */
function readCases(inp: string, out: string): Map<string, number[]> {
  const raw = readFileSync(inp, 'utf8');
  const sep = '\n__ggml_vocab_test__\n';
  const inputs: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const outs = readFileSync(out, 'utf8').split('\n');
  if (outs.at(-1) === '') outs.pop();
  if (outs.length !== inputs.length) throw new Error(`${inp}: ${inputs.length} inputs but ${outs.length} outputs`);
  const cases = new Map<string, number[]>();
  inputs.forEach((s, i) => {
    const o = outs[i]!.trim();
    cases.set(s, o === '' ? [] : o.split(' ').map(Number));
  });
  return cases;
}

const found = llamaCppModelsDir();
if (!found.dir) {
  if (IS_CI && existsSync(BUNDLE) && hasGit()) throw new Error(`CI=true but llama.cpp's vocab tests are unavailable: ${found.why}`);
  console.warn(`skipping llama.cpp's vocab tests: ${found.why}`);
}
const rates: string[] = [];
const parity: string[] = [];
const haveLlama = llamaCppAvailable();

/** Special-token text with the spacing phi-3's RSTRIP rules and parse_special care about. */
const SPECIAL_CASES = [
  '<|user|>\n  hi there <|end|>  \n<|assistant|>   ok</s>   x', ' <s>  a </s>\t\tb <unk>  c',
  '<|system|> \n\n sys<|end|>\n<|user|>q<|end|>\n<|assistant|>', '<|im_start|>user\nhi<|im_end|>\n', '<|begin_of_text|><|eot_id|> x',
];

describe.skipIf(!found.dir)("llama.cpp's tokenizer tests (models/ggml-vocab-*.gguf)", () => {
  const dir = found.dir!;
  const vocabs = found.dir ? readdirSync(dir).filter((f) => f.startsWith('ggml-vocab-') && f.endsWith('.gguf.inp')).map((f) => f.slice(0, -4)).sort() : [];

  let oracle: LlamaCppOracle | undefined;
  afterAll(() => {
    oracle?.close();
    console.log(["llama.cpp's vocab tests, ferrum's pass rate:", ...rates].join('\n  '));
    if (parity.length) console.log(['the same vocabs against llama.cpp itself (inputs, extras, fuzz; parse_special on and off):', ...parity].join('\n  '));
  });

  it('finds the vocab files', () => {
    expect(vocabs.length).toBeGreaterThanOrEqual(10);
  });

  for (const v of vocabs) {
    it(v, async () => {
      const file = readGguf(join(dir, v));
      const model = file.metadata.get('tokenizer.ggml.model')?.value;
      if (!SUPPORTED_TOKENIZER_MODELS.includes(model as never)) {
        rates.push(`${v}: not run (tokenizer.ggml.model "${String(model)}" is not supported)`);
        return;
      }
      const tok = loadTokenizer(file, { warn: () => {} });
      const cases = readCases(join(dir, `${v}.inp`), join(dir, `${v}.out`));
      const failed: string[] = [];
      for (const [text, want] of cases) {
        const got = tok.encode(text);
        if (JSON.stringify(got) !== JSON.stringify(want)) failed.push(`${JSON.stringify(text)}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
      }
      rates.push(`${v}: ${cases.size - failed.length}/${cases.size}`);
      expect(failed).toEqual([]);

      // The same file through llama.cpp, with special-token parsing too.
      if (!haveLlama) return;
      oracle ??= new LlamaCppOracle();
      const texts = [...cases.keys(), ...EXTRA_CASES, ...SPECIAL_CASES, ...fuzzTexts(100, 99)];
      let n = 0;
      const bad: string[] = [];
      for (const special of [false, true]) {
        const theirs = await oracle.tokenize(join(dir, v), texts, special);
        texts.forEach((t, i) => {
          n++;
          const mine = tok.encode(t, { parseSpecial: special });
          if (JSON.stringify(mine) !== JSON.stringify(theirs[i])) bad.push(`${JSON.stringify(t.slice(0, 50))} special=${special}`);
        });
      }
      parity.push(`${v}: ${n} cases, ${bad.length} mismatches`);
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }
});
