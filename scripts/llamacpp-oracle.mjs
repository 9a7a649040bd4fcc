#!/usr/bin/env node
// A child-process oracle around llama.cpp (through node-llama-cpp), for tests
// and benchmarks that compare ferrum with the peer on the same GGUF.
//
// Why a separate process: node-llama-cpp's binary self-test re-runs node with
// the parent's flags, which fails inside `node -e` and inside vitest workers;
// a plain script file started with `node scripts/llamacpp-oracle.mjs` works.
//
// Protocol: JSON lines. Each line on stdin is one request; each request gets
// exactly one line on stdout: {"ok": true, ...result} or {"ok": false, "error": "..."}.
// With a request as argv[2] (a JSON string), it answers that one request and exits.
// Models stay loaded (keyed by path) for the life of the process, so batch
// many requests through one process.
//
// Commands (add more to COMMANDS; a `logits` command belongs beside these):
//   {"cmd":"tokenize","model":PATH,"texts":[...],"special":false}
//       → {"ids":[[...],...]}  (no BOS: node-llama-cpp's model.tokenize)
//   {"cmd":"detokenize","model":PATH,"ids":[[...],...],"special":false}
//       → {"texts":[...]}      (llama_detokenize, remove_special=false)
//   {"cmd":"tokens","model":PATH}
//       → {"bos":n|null,"eos":...,"eot":...,"sep":...,"nl":...,"add_bos":b,"add_eos":b,"vocab_type":s}
//   {"cmd":"time-tokenize","model":PATH,"file":PATH,"repeat":n,"special":false}
//       → {"n_tokens":n,"ms":[...]}  (timing measured inside this process)
//   {"cmd":"quit"}
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

let llamaPromise;
function llama() {
  // CPU prebuilt, never build or download: tests run offline.
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, logger: (_l, m) => process.stderr.write(m) });
  return llamaPromise;
}

const models = new Map();
async function model(path, { vocabOnly = true } = {}) {
  const key = `${path}\0${vocabOnly}`;
  let m = models.get(key);
  if (!m) {
    m = (await llama()).loadModel({ modelPath: path, vocabOnly, gpuLayers: 0 });
    models.set(key, m);
  }
  return m;
}

const COMMANDS = {
  async tokenize(req) {
    const m = await model(req.model);
    const special = req.special === true;
    return { ids: req.texts.map((t) => Array.from(m.tokenize(t, special))) };
  },
  async detokenize(req) {
    const m = await model(req.model);
    const special = req.special === true;
    return { texts: req.ids.map((ids) => m.detokenize(ids, special)) };
  },
  async tokens(req) {
    const m = await model(req.model);
    const t = m.tokens;
    return {
      bos: t.bos ?? null, eos: t.eos ?? null, eot: t.eot ?? null, sep: t.sep ?? null, nl: t.nl ?? null,
      add_bos: t.shouldPrependBosToken, add_eos: t.shouldAppendEosToken, vocab_type: m.vocabularyType,
    };
  },
  async 'time-tokenize'(req) {
    const m = await model(req.model);
    const text = readFileSync(req.file, 'utf8');
    const special = req.special === true;
    const ms = [];
    let n = 0;
    for (let i = 0; i < (req.repeat ?? 1); i++) {
      const t0 = process.hrtime.bigint();
      n = m.tokenize(text, special).length;
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return { n_tokens: n, ms };
  },
};

async function answer(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `bad JSON request: ${e.message}` };
  }
  const fn = COMMANDS[req.cmd];
  if (!fn) return { ok: false, error: `unknown cmd ${JSON.stringify(req.cmd)}; known: ${Object.keys(COMMANDS).join(', ')}, quit` };
  try {
    return { ok: true, ...(await fn(req)) };
  } catch (e) {
    return { ok: false, error: String(e?.stack ?? e) };
  }
}

if (process.argv[2]) {
  process.stdout.write(JSON.stringify(await answer(process.argv[2])) + '\n');
  process.exit(0);
} else {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    if (line.trim() === '{"cmd":"quit"}') break;
    process.stdout.write(JSON.stringify(await answer(line)) + '\n');
  }
  process.exit(0);
}
