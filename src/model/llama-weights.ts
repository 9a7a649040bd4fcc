import type { HParams } from './hparams.js';
import type { Weight, Weights } from './weights.js';

export interface LayerWeights {
  readonly attnNorm: Weight;
  readonly q: Weight;
  readonly k: Weight;
  readonly v: Weight;
  readonly o: Weight;
  readonly qBias?: Weight;
  readonly kBias?: Weight;
  readonly vBias?: Weight;
  readonly oBias?: Weight;
  /** qwen3: RMS norm over each head of Q and K before RoPE. */
  readonly qNorm?: Weight;
  readonly kNorm?: Weight;
  readonly ffnNorm: Weight;
  readonly gate: Weight;
  readonly up: Weight;
  readonly down: Weight;
}

export interface ModelWeights {
  readonly tokenEmbd: Weight;
  readonly layers: readonly LayerWeights[];
  readonly outputNorm: Weight;
  /** output.weight, or token_embd.weight where the output is tied to it. */
  readonly output: Weight;
}

/** The tensors of llama / qwen2 / qwen3 by llama.cpp's names, each checked against the hyper-parameters. */
export function loadLlamaWeights(w: Weights, hp: HParams): ModelWeights {
  const qDim = hp.nHead * hp.headDim;
  const kvDim = hp.nHeadKV * hp.headDim;
  const layers: LayerWeights[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const n = (s: string): string => `blk.${il}.${s}`;
    layers.push({
      attnNorm: w.get(n('attn_norm.weight'), [hp.nEmbd]),
      q: w.get(n('attn_q.weight'), [hp.nEmbd, qDim]),
      k: w.get(n('attn_k.weight'), [hp.nEmbd, kvDim]),
      v: w.get(n('attn_v.weight'), [hp.nEmbd, kvDim]),
      o: w.get(n('attn_output.weight'), [qDim, hp.nEmbd]),
      qBias: w.optional(n('attn_q.bias'), [qDim]),
      kBias: w.optional(n('attn_k.bias'), [kvDim]),
      vBias: w.optional(n('attn_v.bias'), [kvDim]),
      oBias: w.optional(n('attn_output.bias'), [hp.nEmbd]),
      qNorm: w.optional(n('attn_q_norm.weight'), [hp.headDim]),
      kNorm: w.optional(n('attn_k_norm.weight'), [hp.headDim]),
      ffnNorm: w.get(n('ffn_norm.weight'), [hp.nEmbd]),
      gate: w.get(n('ffn_gate.weight'), [hp.nEmbd, hp.nFF]),
      up: w.get(n('ffn_up.weight'), [hp.nEmbd, hp.nFF]),
      down: w.get(n('ffn_down.weight'), [hp.nFF, hp.nEmbd]),
    });
  }
  const tokenEmbd = w.get('token_embd.weight', [hp.nEmbd, hp.nVocab]);
  return {
    tokenEmbd,
    layers,
    outputNorm: w.get('output_norm.weight', [hp.nEmbd]),
    output: w.optional('output.weight', [hp.nEmbd, hp.nVocab]) ?? tokenEmbd,
  };
}
