import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chatRepl } from '../src/cli/chat-repl.js';
import { Interrupt } from '../src/cli/interrupt.js';
import { kv, readGguf, writeGguf } from '../src/gguf/index.js';
import { Engine } from '../src/model/engine.js';
import { Sampler } from '../src/sampling/sampler.js';
import { samplingParams } from '../src/sampling/params.js';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';

/** The bundled model with a plain-text chat template added, so a conversation has turns. */
function templatedModel(): string {
  const src = resolve(REPO_ROOT, 'models/tolstoy-tiny-Q8_0.gguf');
  const f = readGguf(src);
  const bytes = readFileSync(src);
  const out = join(tempDir('chat'), 'tolstoy-chat.gguf');
  writeGguf(out, {
    metadata: [...f.metadata.entries(), ['tokenizer.chat_template', kv.str(
      "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}",
    )]],
    tensors: f.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: bytes.subarray(t.fileOffset, t.fileOffset + t.bytes!) })),
  });
  return out;
}

describe('interactive chat', () => {
  it('keeps the KV cache between turns, evaluating only the new tokens; /reset forgets', async () => {
    const model = templatedModel();
    const engine = Engine.load(model, { nCtx: 512, batch: 64, threads: 1 });
    const tok = loadTokenizer(engine.file);
    const evals: Array<{ n: number; pos0: number }> = [];
    const realEval = engine.eval.bind(engine);
    engine.eval = (tokens, pos0, outputs) => {
      evals.push({ n: tokens.length, pos0 });
      return realEval(tokens, pos0, outputs);
    };
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (d: Buffer) => { text += d.toString(); });
    input.end('The old prince\nNatasha\n/reset\nNatasha\n/exit\n');
    const interrupt = new Interrupt();
    await chatRepl(engine, tok, undefined, { sampler: new Sampler(samplingParams({ temperature: 0 }), tok.nVocab), maxTokens: 8, stop: [], logprobs: 0 },
      interrupt, { input, output, terminal: false });
    interrupt.dispose();
    engine.close();

    const prefills = evals.filter((e) => e.n > 1);
    expect(prefills).toHaveLength(3);
    expect(prefills[0]!.pos0).toBe(0);
    // Turn 2 reuses turn 1 from the cache (up to where the re-rendered
    // conversation first differs from the generated tokens): only the rest is evaluated.
    expect(prefills[1]!.pos0).toBeGreaterThanOrEqual(prefills[0]!.n - 1);
    // After /reset the conversation starts again at position 0.
    expect(prefills[2]!.pos0).toBe(0);
    expect(text).toMatch(/\(conversation reset\)/);
    // Three replies were printed, each after a prompt marker.
    expect(text.split('> ').length).toBeGreaterThanOrEqual(4);
  });
});
