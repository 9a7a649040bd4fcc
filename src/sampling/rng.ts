// A small seeded PRNG: xoshiro128** seeded through splitmix32. Pure 32-bit
// integer arithmetic (Math.imul, shifts), so the same seed gives the same
// stream on every run, platform and Node version. It does not reproduce
// llama.cpp's std::mt19937 stream; only its contract (seeded, uniform).

import { randomInt } from 'node:crypto';
import { LLAMA_DEFAULT_SEED } from './params.js';

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** seed: any number; its low 32 bits are used. */
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/**
 * A random 32-bit seed from the OS. Never LLAMA_DEFAULT_SEED, so that the
 * seed printed by --verbose reproduces the run when passed back with --seed.
 */
export function randomSeed(): number {
  return randomInt(0, LLAMA_DEFAULT_SEED); // [0, 2^32 - 1)
}
