import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GGML_TYPES, ggmlTensorBytes, ggmlTypeName, GgufMetadata, GgufValueType, kv, readGguf, writeGguf,
} from '../src/gguf/index.js';
import { ALL_VALUE_TYPES, fixtureTensors, writeFixture } from './helpers/gguf-fixture.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('roundtrip');

describe('GGUF writer → reader', () => {
  for (const version of [2, 3] as const) {
    for (const alignment of [undefined, 64, 4096]) {
      it(`round-trips every value type and tensor (v${version}, alignment ${alignment ?? 'default'})`, () => {
        const path = join(dir, `fx-v${version}-${alignment ?? 'd'}.gguf`);
        writeFixture(path, version, alignment);
        const f = readGguf(path);
        expect(f.version).toBe(version);
        expect(f.alignment).toBe(alignment ?? 32);
        expect(f.dataOffset % f.alignment).toBe(0);
        for (const [key, want] of ALL_VALUE_TYPES) expect(f.metadata.get(key), key).toEqual(want);
        const bytes = readFileSync(path);
        const tensors = fixtureTensors();
        expect(f.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
        f.tensors.forEach((t, i) => {
          const src = tensors[i]!;
          expect(t.dims).toEqual(src.dims);
          expect(t.type).toBe(src.type);
          expect(t.offset % f.alignment).toBe(0);
          expect(t.bytes).toBe(src.data!.length);
          expect(Buffer.compare(bytes.subarray(t.fileOffset, t.fileOffset + t.bytes!), Buffer.from(src.data!))).toBe(0);
        });
      });
    }
  }

  it('typed metadata accessors convert and reject wrong types with the key named', () => {
    const path = join(dir, 'meta.gguf');
    writeFixture(path);
    const m = new GgufMetadata(readGguf(path));
    expect(m.architecture).toBe('llama');
    expect(m.archNumber('block_count')).toBe(1);
    expect(m.number('test.i32')).toBe(-2147483648);
    expect(() => m.number('test.u64')).toThrow(/test.u64.*safe integer/);
    expect(m.strings('test.strings')).toEqual(['a', '', 'ß', '<0x0A>']);
    expect(() => m.string('test.u8')).toThrow(/"test.u8" is not a string/);
    expect(m.bool('test.bool')).toBe(true);
    expect(m.string('absent.key')).toBeUndefined();
  });

  it('writes a file with no tensors', () => {
    const path = join(dir, 'empty.gguf');
    writeGguf(path, { metadata: [['general.architecture', kv.str('llama')]], tensors: [] });
    const f = readGguf(path);
    expect(f.tensors).toHaveLength(0);
    expect(f.metadata.get('general.architecture')?.type).toBe(GgufValueType.STRING);
  });
});

describe('ggml type table', () => {
  it('names every type id llama.cpp defines, with block geometry', () => {
    const expected: Record<number, [string, number, number]> = {
      0: ['F32', 1, 4], 1: ['F16', 1, 2], 2: ['Q4_0', 32, 18], 3: ['Q4_1', 32, 20], 6: ['Q5_0', 32, 22],
      7: ['Q5_1', 32, 24], 8: ['Q8_0', 32, 34], 9: ['Q8_1', 32, 36], 10: ['Q2_K', 256, 84], 11: ['Q3_K', 256, 110],
      12: ['Q4_K', 256, 144], 13: ['Q5_K', 256, 176], 14: ['Q6_K', 256, 210], 15: ['Q8_K', 256, 292],
      16: ['IQ2_XXS', 256, 66], 17: ['IQ2_XS', 256, 74], 18: ['IQ3_XXS', 256, 98], 19: ['IQ1_S', 256, 50],
      20: ['IQ4_NL', 32, 18], 21: ['IQ3_S', 256, 110], 22: ['IQ2_S', 256, 82], 23: ['IQ4_XS', 256, 136],
      24: ['I8', 1, 1], 25: ['I16', 1, 2], 26: ['I32', 1, 4], 27: ['I64', 1, 8], 28: ['F64', 1, 8],
      29: ['IQ1_M', 256, 56], 30: ['BF16', 1, 2], 34: ['TQ1_0', 256, 54], 35: ['TQ2_0', 256, 66],
      39: ['MXFP4', 32, 17], 40: ['NVFP4', 64, 36], 41: ['Q1_0', 128, 18], 42: ['Q2_0', 64, 18],
    };
    for (const [id, [name, bs, ts]] of Object.entries(expected)) {
      const t = GGML_TYPES.get(Number(id));
      expect(t, name).toMatchObject({ name, blockSize: bs, typeSize: ts });
    }
    expect(ggmlTypeName(99)).toBe('unknown(99)');
    expect(ggmlTypeName(31)).toBe('Q4_0_4_4');
    expect(ggmlTensorBytes(12, 512n)).toBe(288n);
    expect(ggmlTensorBytes(12, 100n)).toBeUndefined();
    expect(ggmlTensorBytes(99, 32n)).toBeUndefined();
  });
});
