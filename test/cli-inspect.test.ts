import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgufValueType, kv, writeGguf } from '../src/gguf/index.js';
import { ferrum } from './helpers/cli.js';
import { fixtureTensors, writeFixture } from './helpers/gguf-fixture.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('cli');
const model = join(dir, 'fixture.gguf');
writeFixture(model);

describe('ferrum inspect', () => {
  it('prints the model overview and per-type table', () => {
    const r = ferrum(['inspect', model]);
    expect(r.code, r.stderr).toBe(0);
    for (const want of [/architecture\s+llama/, /layers\s+1/, /embedding width\s+64/, /heads \/ KV heads\s+4 \/ 2/,
      /context length\s+128/, /vocab\s+5 \(llama\)/, /chat template\s+no/, /file type\s+MOSTLY_Q4_K_M/,
      /Q8_0\s+1\s+4\.1 K/, /mean bits per weight: \d+\.\d\d/]) {
      expect(r.stdout).toMatch(want);
    }
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/\u001b\[/);
  });

  it('--keys shortens long arrays and --tensors lists every tensor', () => {
    const r = ferrum(['inspect', model, '--keys', '--tensors']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/tokenizer\.ggml\.tokens\s+array\s+\[string x 5\]/);
    expect(r.stdout).toMatch(/test\.f32\s+float32\s+3\.25/);
    for (const t of fixtureTensors()) expect(r.stdout).toContain(t.name);
    expect(r.stdout).toMatch(/blk\.0\.ffn_up\.weight\s+\[256, 3\]\s+Q4_K/);
  });

  it('--json prints one object with summary, metadata and tensors', () => {
    const r = ferrum(['inspect', model, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown> & { metadata: Record<string, unknown>; tensors: Array<Record<string, unknown>> };
    expect(j.architecture).toBe('llama');
    expect(j.params).toBe(64 * 5 + 64 + 64 * 64 + 256 * 3 + 64 * 5);
    expect(j.metadata['test.u64']).toBe('18446744073709551615');
    expect(j.metadata['test.nested']).toEqual([[1, -2, 3], ['x'], [[true, false]]]);
    expect(j.tensors).toHaveLength(5);
    expect(j.tensors[3]).toMatchObject({ name: 'blk.0.ffn_up.weight', type: 'Q4_K', shape: [256, 3], bytes: 432 });
  });

  it('shows experts and the chat template where present', () => {
    const moe = join(dir, 'moe.gguf');
    writeGguf(moe, {
      metadata: [
        ['general.architecture', kv.str('qwen3moe')],
        ['qwen3moe.expert_count', kv.u32(128)],
        ['qwen3moe.expert_used_count', kv.u32(8)],
        ['tokenizer.chat_template', kv.str('{{ messages }}')],
        ['tokenizer.ggml.tokens', kv.arr(GgufValueType.STRING, ['a'])],
      ],
      tensors: [],
    });
    const r = ferrum(['inspect', moe]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/experts \(used\)\s+128 \(8 per token\)/);
    expect(r.stdout).toMatch(/chat template\s+yes/);
  });

  it('counts active parameters of a mixture of experts: all but the unselected experts', () => {
    const moe = join(dir, 'moe-active.gguf');
    writeGguf(moe, {
      metadata: [
        ['general.architecture', kv.str('qwen3moe')],
        ['qwen3moe.expert_count', kv.u32(8)],
        ['qwen3moe.expert_used_count', kv.u32(2)],
      ],
      tensors: [
        { name: 'token_embd.weight', dims: [4, 10], type: 0 },
        { name: 'blk.0.ffn_gate_inp.weight', dims: [4, 8], type: 0 },
        { name: 'blk.0.ffn_gate_exps.weight', dims: [4, 3, 8], type: 0 },
        { name: 'blk.0.ffn_up_exps.weight', dims: [4, 3, 8], type: 0 },
        { name: 'blk.0.ffn_down_exps.weight', dims: [3, 4, 8], type: 0 },
      ],
    });
    const r = ferrum(['inspect', moe, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { params: number; activeParams: number; expertParams: number };
    expect(j.params).toBe(40 + 32 + 3 * 96);
    expect(j.expertParams).toBe(3 * 96);
    expect(j.activeParams).toBe(40 + 32 + (3 * 96 * 2) / 8);
    const t = ferrum(['inspect', moe]);
    expect(t.stdout).toMatch(/active parameters\s+144 of 360 per token = 40\.0%/);
  });

  it('usage errors exit non-zero with a message', () => {
    const r = ferrum(['inspect']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/missing required argument/);
  });
});

describe('ferrum inspect --tokenize', () => {
  const tolstoy = new URL('../models/tolstoy-tiny-Q8_0.gguf', import.meta.url).pathname;
  it('prints ids and pieces of the text alone (no BOS)', () => {
    const r = ferrum(['inspect', tolstoy, '--tokenize', 'The old prince']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s*id\s+piece/);
    expect(r.stdout).toMatch(/366\s+'␣The'/);
    expect(r.stdout).toMatch(/6 tokens/);
  });
  it('--json prints {tokens, pieces}; special strings are parsed only with --special', () => {
    const plain = JSON.parse(ferrum(['inspect', tolstoy, '--tokenize', 'old <s>', '--json']).stdout) as { tokens: number[]; pieces: string[] };
    const special = JSON.parse(ferrum(['inspect', tolstoy, '--tokenize', 'old <s>', '--json', '--special']).stdout) as { tokens: number[]; pieces: string[] };
    expect(plain.tokens.slice(0, 2)).toEqual([268, 323]); // ' o', 'ld'
    expect(plain.tokens).not.toContain(1);
    expect(special.tokens.at(-1)).toBe(1);
    expect(special.pieces.at(-1)).toBe('<s>');
    expect(plain.pieces.join('')).toBe(' old <s>');
  });
});
