import { describe, expect, it } from 'vitest';
import { causalAttention, embedding, matVec, rmsNorm, rope, softmax, swiglu } from './reference/ops.js';

// Properties of the reference ops that a kernel author can read as the spec;
// the numbers themselves are checked against llama.cpp end to end
// (reference-vs-llamacpp.test.ts).

const close = (a: ArrayLike<number>, b: readonly number[]): void => {
  expect(Array.from(a).map((v) => Number(v.toFixed(5)))).toEqual(b.map((v) => Number(v.toFixed(5))));
};

describe('reference ops', () => {
  it('rmsNorm scales to unit root-mean-square, then by the weight', () => {
    close(rmsNorm(Float32Array.of(3, -3, 3, -3), Float32Array.of(1, 2, 1, 0.5), 0), [1, -2, 1, -0.5]);
  });

  it('matVec multiplies rows of W (ggml dims [cols, rows]) with x', () => {
    close(matVec({ rows: 2, cols: 3, data: Float32Array.of(1, 2, 3, 4, 5, 6) }, Float32Array.of(1, 0, -1)), [-2, -2]);
  });

  it('swiglu is silu(gate) * up', () => {
    close(swiglu(Float32Array.of(0, 1), Float32Array.of(5, 2)), [0, 2 / (1 + Math.exp(-1))]);
  });

  it('embedding returns a copy of the token row and refuses ids outside the vocabulary', () => {
    const table = { rows: 2, cols: 2, data: Float32Array.of(1, 2, 3, 4) };
    close(embedding(table, 1), [3, 4]);
    expect(() => embedding(table, 2)).toThrow(/outside the vocabulary/);
  });

  it('rope: position 0 is the identity; norm mode turns adjacent pairs, neox pairs i with i + nDims/2', () => {
    const x = Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0);
    const params = { nDims: 4, base: 10000, freqScale: 1 } as const;
    close(rope(x, 8, 0, { ...params, mode: 'norm' }), Array.from(x));
    // Pair 0 has theta = pos: (1, 0) turns to (cos 1, sin 1).
    close(rope(x, 8, 1, { ...params, mode: 'norm' }), [Math.cos(1), Math.sin(1), 0, 0, 1, 0, 0, 0]);
    close(rope(x, 8, 1, { ...params, mode: 'neox' }), [Math.cos(1), 0, Math.sin(1), 0, 1, 0, 0, 0]);
    // Dimensions past nDims pass through; pair 1 turns by pos * base^(-2/nDims).
    const y = rope(Float32Array.of(0, 0, 1, 0, 7, 7, 7, 7), 8, 2, { ...params, mode: 'norm' });
    const theta = 2 * 10000 ** (-2 / 4);
    close(y, [0, 0, Math.cos(theta), Math.sin(theta), 7, 7, 7, 7]);
    // Linear scaling divides positions.
    close(rope(x, 8, 2, { ...params, freqScale: 0.5, mode: 'norm' }), [Math.cos(1), Math.sin(1), 0, 0, 1, 0, 0, 0]);
  });

  it('softmax sums to one and is shift-invariant', () => {
    const p = softmax([1000, 1001]);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
    expect(p[1]! / p[0]!).toBeCloseTo(Math.E, 10);
  });

  it('attention: position 0 sees only itself; query heads share KV heads in groups', () => {
    const shape = { nHead: 4, nHeadKv: 2, headDim: 1, scale: 1 };
    const q = [Float32Array.of(1, 1, 1, 1), Float32Array.of(0, 0, 0, 0)];
    const k = [Float32Array.of(0, 0), Float32Array.of(0, 0)];
    const v = [Float32Array.of(10, 20), Float32Array.of(30, 40)];
    const out = causalAttention(q, k, v, shape);
    close(out[0]!, [10, 10, 20, 20]);
    // Equal scores at position 1: the mean of both positions' values.
    close(out[1]!, [20, 20, 30, 30]);
  });
});
