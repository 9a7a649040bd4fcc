/**
 * The operations of a llama-family forward pass, one plain function each:
 * float32 in and out, float64 inside. Exported one by one so a backend's
 * kernel can be checked against the matching reference op.
 */

/** A row-major matrix: `rows` rows of `cols` values (a ggml tensor with dims [cols, rows]). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** RMSNorm: x / sqrt(mean(x²) + eps), times the weight when one is given. */
export function rmsNorm(x: Float32Array, weight: Float32Array | undefined, eps: number): Float32Array {
  if (weight && weight.length !== x.length) throw new Error(`rmsNorm: weight has ${weight.length} values, x has ${x.length}`);
  let sumSquares = 0;
  for (const v of x) sumSquares += v * v;
  const scale = 1 / Math.sqrt(sumSquares / x.length + eps);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * scale * (weight ? weight[i]! : 1);
  return out;
}

/** RMSNorm applied to each of the `x.length / width` consecutive slices (per-head QK-norm). */
export function rmsNormSlices(x: Float32Array, width: number, weight: Float32Array, eps: number): Float32Array {
  if (x.length % width !== 0) throw new Error(`rmsNormSlices: ${x.length} values are not slices of ${width}`);
  const out = new Float32Array(x.length);
  for (let at = 0; at < x.length; at += width) out.set(rmsNorm(x.subarray(at, at + width), weight, eps), at);
  return out;
}

/** y = W·x: y[r] = Σ_c W[r][c]·x[c], accumulated in float64. */
export function matVec(w: Matrix, x: Float32Array): Float32Array {
  if (x.length !== w.cols) throw new Error(`matVec: x has ${x.length} values, W has ${w.cols} columns`);
  const y = new Float32Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    const row = r * w.cols;
    let sum = 0;
    for (let c = 0; c < w.cols; c++) sum += w.data[row + c]! * x[c]!;
    y[r] = sum;
  }
  return y;
}

/** W·x for each x (a batch of positions). */
export function matmul(w: Matrix, xs: readonly Float32Array[]): Float32Array[] {
  return xs.map((x) => matVec(w, x));
}

/** a + b, element-wise (residual connections, biases). */
export function add(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length !== b.length) throw new Error(`add: ${a.length} vs ${b.length} values`);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** silu(gate) * up, element-wise: the SwiGLU feed-forward activation. */
export function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  if (gate.length !== up.length) throw new Error(`swiglu: ${gate.length} vs ${up.length} values`);
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return out;
}

/** Row `token` of the embedding table. */
export function embedding(table: Matrix, token: number): Float32Array {
  if (!Number.isInteger(token) || token < 0 || token >= table.rows) {
    throw new Error(`embedding: token ${token} is outside the vocabulary of ${table.rows}`);
  }
  return table.data.slice(token * table.cols, (token + 1) * table.cols);
}

/**
 * How RoPE pairs the dimensions of a head. `norm` (llama.cpp's LLAMA_ROPE_TYPE_NORM,
 * the `llama` arch) rotates adjacent pairs (2i, 2i+1); `neox` (qwen2, qwen3)
 * rotates (i, i + nDims/2).
 */
export type RopeMode = 'norm' | 'neox';

export interface RopeParams {
  readonly mode: RopeMode;
  /** Rotated dimensions per head (`rope.dimension_count`); the rest pass through. */
  readonly nDims: number;
  /** `rope.freq_base`. */
  readonly base: number;
  /** 1 / `rope.scaling.factor` for linear scaling, else 1. */
  readonly freqScale: number;
  /** Per-pair divisors of theta (llama 3's `rope_freqs.weight`), nDims/2 of them. */
  readonly freqFactors?: Float32Array;
}

/**
 * Rotary position embedding of one token's heads (`x` holds nHeads heads of
 * headDim values). Pair i turns by theta_i = pos · freqScale · base^(-2i/nDims)
 * (divided by freqFactors[i] when given), computed in float64.
 */
export function rope(x: Float32Array, headDim: number, pos: number, p: RopeParams): Float32Array {
  if (x.length % headDim !== 0) throw new Error(`rope: ${x.length} values are not heads of ${headDim}`);
  if (p.nDims > headDim || p.nDims % 2 !== 0) throw new Error(`rope: cannot rotate ${p.nDims} of ${headDim} dims`);
  const half = p.nDims / 2;
  const out = Float32Array.from(x);
  for (let head = 0; head < x.length / headDim; head++) {
    const base = head * headDim;
    for (let i = 0; i < half; i++) {
      const theta = (pos * p.freqScale * p.base ** ((-2 * i) / p.nDims)) / (p.freqFactors ? p.freqFactors[i]! : 1);
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      const [a, b] = p.mode === 'norm' ? [base + 2 * i, base + 2 * i + 1] : [base + i, base + i + half];
      const x0 = x[a]!;
      const x1 = x[b]!;
      out[a] = x0 * cos - x1 * sin;
      out[b] = x0 * sin + x1 * cos;
    }
  }
  return out;
}

/** Softmax in float64. */
export function softmax(scores: readonly number[]): number[] {
  const max = scores.reduce((a, b) => Math.max(a, b), -Infinity);
  const exps = scores.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export interface AttentionShape {
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  /** Multiplies q·k before the softmax; 1/sqrt(headDim) for these architectures. */
  readonly scale: number;
}

/**
 * Causal multi-head attention with grouped KV heads: query head h reads KV
 * head floor(h / (nHead / nHeadKv)); position t attends to positions 0..t.
 * q[t] holds nHead heads, k[t] and v[t] nHeadKv heads, of headDim values
 * each (after RoPE). Returns each position's concatenated head outputs.
 */
export function causalAttention(
  q: readonly Float32Array[],
  k: readonly Float32Array[],
  v: readonly Float32Array[],
  s: AttentionShape,
): Float32Array[] {
  if (s.nHead % s.nHeadKv !== 0) throw new Error(`attention: ${s.nHead} heads do not group over ${s.nHeadKv} KV heads`);
  const group = s.nHead / s.nHeadKv;
  const d = s.headDim;
  return q.map((qt, t) => {
    const out = new Float32Array(s.nHead * d);
    for (let h = 0; h < s.nHead; h++) {
      const kvAt = Math.floor(h / group) * d;
      const scores: number[] = [];
      for (let u = 0; u <= t; u++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += qt[h * d + i]! * k[u]![kvAt + i]!;
        scores.push(dot * s.scale);
      }
      const weights = softmax(scores);
      for (let i = 0; i < d; i++) {
        let sum = 0;
        for (let u = 0; u <= t; u++) sum += weights[u]! * v[u]![kvAt + i]!;
        out[h * d + i] = sum;
      }
    }
    return out;
  });
}
