/**
 * Token ids for benchmark steps, as llama-bench makes them: uniformly random
 * valid ids, except that a sequence starting at position 0 begins with BOS
 * where the model adds one. The generator is seeded so runs are repeatable.
 */
export class TokenSource {
  private state: number;

  constructor(
    private readonly nVocab: number,
    private readonly bos: number | undefined,
    seed = 1,
  ) {
    this.state = seed >>> 0;
  }

  /** mulberry32: a small, fast 32-bit generator; good enough to pick token ids. */
  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  random(): number {
    return Math.floor(this.next() * this.nVocab);
  }

  /** The first token of a fresh context: BOS where the model wants one, else random. */
  first(): number {
    return this.bos ?? this.random();
  }

  /** n random ids: a prompt that continues a context. */
  randoms(n: number): number[] {
    const ids = new Array<number>(n);
    for (let i = 0; i < n; i++) ids[i] = this.random();
    return ids;
  }

  /** A prompt of n tokens for position 0. */
  prompt(n: number): number[] {
    return n > 0 ? [this.first(), ...this.randoms(n - 1)] : [];
  }
}
