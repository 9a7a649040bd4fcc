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
  readonly ffn: DenseFfn | MoeFfn;
}

/** A SwiGLU feed-forward network: down(silu(gate x) * up x). */
export interface DenseFfn {
  readonly kind: 'dense';
  readonly gate: Weight;
  readonly up: Weight;
  readonly down: Weight;
}

/**
 * A mixture-of-experts FFN: the router, and each expert's gate/up/down
 * stacked in one tensor ([n_embd, n_ff_exp, n_expert] in ggml order), bound
 * in place; expert e starts e * n_rows * rowBytes bytes into it.
 */
export interface MoeFfn {
  readonly kind: 'moe';
  readonly router: Weight;
  readonly gateExps: Weight;
  readonly upExps: Weight;
  readonly downExps: Weight;
  /** Shared experts, run on every token and added to the routed ones. */
  readonly shared?: DenseFfn;
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
      ffn: hp.nExpert > 0 ? loadMoe(w, hp, n) : {
        kind: 'dense',
        gate: w.get(n('ffn_gate.weight'), [hp.nEmbd, hp.nFF]),
        up: w.get(n('ffn_up.weight'), [hp.nEmbd, hp.nFF]),
        down: w.get(n('ffn_down.weight'), [hp.nFF, hp.nEmbd]),
      },
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

function loadMoe(w: Weights, hp: HParams, n: (s: string) => string): MoeFfn {
  const { nEmbd, nFFExp, nExpert, nFFShexp } = hp;
  const shexp = w.has(n('ffn_gate_shexp.weight'));
  const sff = nFFShexp > 0 ? nFFShexp : shexp ? w.dims(n('ffn_gate_shexp.weight'))[1]! : 0;
  return {
    kind: 'moe',
    router: w.get(n('ffn_gate_inp.weight'), [nEmbd, nExpert]),
    gateExps: w.get(n('ffn_gate_exps.weight'), [nEmbd, nFFExp, nExpert]),
    upExps: w.get(n('ffn_up_exps.weight'), [nEmbd, nFFExp, nExpert]),
    downExps: w.get(n('ffn_down_exps.weight'), [nFFExp, nEmbd, nExpert]),
    shared: sff > 0 ? {
      kind: 'dense',
      gate: w.get(n('ffn_gate_shexp.weight'), [nEmbd, sff]),
      up: w.get(n('ffn_up_shexp.weight'), [nEmbd, sff]),
      down: w.get(n('ffn_down_shexp.weight'), [sff, nEmbd]),
    } : undefined,
  };
}
