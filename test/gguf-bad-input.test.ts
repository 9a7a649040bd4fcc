import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgufError, readGguf } from '../src/gguf/index.js';
import { ferrum } from './helpers/cli.js';
import { writeFixture } from './helpers/gguf-fixture.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('bad');

/** Hand-assembled GGUF bytes, so each test can lie in exactly one field. */
interface RawTensor { name: string; dims: bigint[]; type: number; offset: bigint }
function rawGguf(o: {
  magic?: number; version?: number; nTensors?: bigint; nKV?: bigint;
  kvs?: Buffer[]; tensors?: RawTensor[]; dataBytes?: number;
}): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number): void => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); parts.push(b); };
  const u64 = (v: bigint): void => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, v)); parts.push(b); };
  const str = (s: string): void => { const e = Buffer.from(s); u64(BigInt(e.length)); parts.push(e); };
  const tensors = o.tensors ?? [];
  u32(o.magic ?? 0x46554747);
  u32(o.version ?? 3);
  u64(o.nTensors ?? BigInt(tensors.length));
  u64(o.nKV ?? BigInt((o.kvs ?? []).length));
  for (const k of o.kvs ?? []) parts.push(k);
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(t.type);
    u64(t.offset);
  }
  let buf = Buffer.concat(parts);
  const pad = (32 - (buf.length % 32)) % 32;
  buf = Buffer.concat([buf, Buffer.alloc(pad), Buffer.alloc(o.dataBytes ?? 0)]);
  return buf;
}
function kvU32(key: string, v: number): Buffer {
  const k = Buffer.from(key);
  const b = Buffer.alloc(8 + k.length + 8);
  b.writeBigUInt64LE(BigInt(k.length), 0);
  k.copy(b, 8);
  b.writeUInt32LE(4, 8 + k.length);
  b.writeUInt32LE(v, 12 + k.length);
  return b;
}
function kvRaw(key: string, type: number, payload: Buffer): Buffer {
  const k = Buffer.from(key);
  const head = Buffer.alloc(8 + k.length + 4);
  head.writeBigUInt64LE(BigInt(k.length), 0);
  k.copy(head, 8);
  head.writeUInt32LE(type, 8 + k.length);
  return Buffer.concat([head, payload]);
}
const f32 = (name: string, n: number, offset: number): RawTensor => ({ name, dims: [BigInt(n)], type: 0, offset: BigInt(offset) });

const cases: Array<[string, Buffer | null, RegExp]> = [
  ['wrong magic', Buffer.from('GGML\x03\x00\x00\x00' + '\0'.repeat(16), 'latin1'), /not a GGUF file \(magic/],
  ['empty file', Buffer.alloc(0), /not a GGUF file \(0 bytes\)/],
  ['version 1', rawGguf({ version: 1 }), /version 1 is not supported/],
  ['version 7', rawGguf({ version: 7 }), /unsupported GGUF version 7/],
  ['big-endian', rawGguf({ version: 0x03000000 }), /big-endian/],
  ['truncated header', rawGguf({}).subarray(0, 14), /truncated/],
  ['metadata count larger than the file', rawGguf({ nKV: 1n << 40n }), /metadata count .* larger than the file/],
  ['tensor count larger than the file', rawGguf({ nTensors: 1n << 40n }), /tensor count .* larger than the file/],
  ['string length past the end', rawGguf({ kvs: [Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])], dataBytes: 64 }), /length \d+ runs past the end/],
  ['array count larger than the file', rawGguf({ kvs: [kvRaw('a', 9, Buffer.concat([Buffer.from([8, 0, 0, 0]), Buffer.from([0, 0, 0, 0, 0, 1, 0, 0])]))] }), /array count .* larger than the file/],
  ['unknown value type', rawGguf({ kvs: [kvRaw('a', 77, Buffer.alloc(8))] }), /unknown value type 77/],
  ['bad bool', rawGguf({ kvs: [kvRaw('a', 7, Buffer.from([5]))] }), /invalid bool/],
  ['duplicate key', rawGguf({ kvs: [kvU32('k', 1), kvU32('k', 2)] }), /duplicate metadata key "k"/],
  ['alignment not a power of two', rawGguf({ kvs: [kvU32('general.alignment', 24)] }), /general.alignment must be a power-of-two/],
  ['tensor data out of the file', rawGguf({ tensors: [f32('w', 64, 0)], dataBytes: 100 }), /lies outside the file/],
  ['truncated tensor data', rawGguf({ tensors: [f32('a', 8, 0), f32('b', 64, 32)], dataBytes: 64 }), /"b": data .* outside the file/],
  ['overlapping tensors', rawGguf({ tensors: [f32('a', 16, 0), f32('b', 16, 32)], dataBytes: 128 }), /"a" and "b" overlap/],
  ['misaligned offset', rawGguf({ tensors: [f32('a', 8, 4)], dataBytes: 64 }), /not aligned to 32/],
  ['dims overflow', rawGguf({ tensors: [{ name: 'w', dims: [1n << 40n, 1n << 40n], type: 0, offset: 0n }] }), /dimensions overflow/],
  ['negative dim', rawGguf({ tensors: [{ name: 'w', dims: [-5n], type: 0, offset: 0n }] }), /negative dimension/],
  ['five dims', rawGguf({ tensors: [{ name: 'w', dims: [1n, 1n, 1n, 1n, 1n], type: 0, offset: 0n }] }), /5 dimensions/],
  ['row not whole blocks', rawGguf({ tensors: [{ name: 'w', dims: [33n], type: 8, offset: 0n }], dataBytes: 64 }), /not a multiple of Q8_0's block size 32/],
  ['duplicate tensor', rawGguf({ tensors: [f32('w', 8, 0), f32('w', 8, 32)], dataBytes: 64 }), /duplicate tensor name "w"/],
];

describe('bad GGUF input gives one clear error', () => {
  for (const [name, bytes, want] of cases) {
    it(name, () => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.gguf`);
      writeFileSync(path, bytes!);
      expect(() => readGguf(path)).toThrow(GgufError);
      expect(() => readGguf(path)).toThrow(want);
    });
  }

  it('an unknown tensor type is reported as unknown(ID), not an error', () => {
    const path = join(dir, 'unknown-type.gguf');
    writeFileSync(path, rawGguf({ tensors: [{ name: 'w', dims: [32n], type: 99, offset: 0n }], dataBytes: 64 }));
    const f = readGguf(path);
    expect(f.tensors[0]!.bytes).toBeUndefined();
    const r = ferrum(['inspect', path, '--tensors']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('unknown(99)');
  });

  it('the CLI prints one line on stderr, exit 1, never a stack trace', () => {
    const sub = join(dir, 'cli');
    mkdirSync(sub);
    const bad = join(sub, 'bad.gguf');
    writeFileSync(bad, rawGguf({ tensors: [f32('a', 16, 0), f32('b', 16, 32)], dataBytes: 128 }));
    for (const target of [bad, join(sub, 'missing.gguf'), sub]) {
      const r = ferrum(['inspect', target]);
      expect(r.code, target).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^ferrum: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

/** xorshift32: the same variants on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

describe('mutated and truncated fixtures (seeded)', () => {
  it('each of 400 variants parses or fails with a GgufError', () => {
    const base = join(dir, 'fuzz-base.gguf');
    writeFixture(base);
    const orig = readFileSync(base);
    const headerEnd = readGguf(base).dataOffset;
    const rand = rng(20261123);
    const path = join(dir, 'fuzz.gguf');
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 400; i++) {
      let buf = Buffer.from(orig);
      const kind = i % 4;
      if (kind === 0) {
        buf = buf.subarray(0, Math.floor(rand() * buf.length));
      } else if (kind === 1) {
        for (let k = 0, n = 1 + Math.floor(rand() * 4); k < n; k++) buf[Math.floor(rand() * headerEnd)] = Math.floor(rand() * 256);
      } else if (kind === 2) {
        // A plausible-looking huge length/count: 8 bytes of 0xff-ish at an 8-aligned header spot.
        const at = 8 + 8 * Math.floor(rand() * ((headerEnd - 16) / 8));
        buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(Math.floor(rand() * 2 ** 52)) << BigInt(Math.floor(rand() * 12))), at);
      } else {
        const at = Math.floor(rand() * (headerEnd - 4));
        buf.writeUInt32LE(Math.floor(rand() * 2 ** 32), at);
      }
      writeFileSync(path, buf);
      try {
        readGguf(path);
        parsed++;
      } catch (e) {
        expect(e, `variant ${i} (kind ${kind})`).toBeInstanceOf(GgufError);
        expect((e as Error).message).not.toContain('\n');
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(400);
    expect(rejected).toBeGreaterThan(200);
  });
});
