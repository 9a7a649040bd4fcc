import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType, kv, readGguf, writeGguf } from '../src/gguf/index.js';
import { ferrum } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('large');

/** Same header, tensor data of any size left as a hole: a sparse file costs no disk. */
function sparseModel(path: string, rows: number): void {
  writeGguf(path, {
    metadata: [['general.architecture', kv.str('llama')], ['general.name', kv.str('sparse')]],
    tensors: [
      { name: 'token_embd.weight', dims: [4096, rows], type: GgmlType.Q4_K },
      { name: 'output.weight', dims: [4096, rows], type: GgmlType.Q8_0 },
    ],
  });
}

describe('inspect reads only the header', () => {
  it('a 5 GB file and a 5 MB file with the same header cost the same reads', () => {
    const big = join(dir, 'big.gguf');
    const small = join(dir, 'small.gguf');
    sparseModel(big, 800_000); // 4096*800k*(4.5+8.5)/8 bits ≈ 5.3 GB
    sparseModel(small, 800);
    const fb = readGguf(big);
    const fs = readGguf(small);
    expect(fb.fileSize).toBeGreaterThan(5e9);
    expect(fb.headerBytesRead).toBeLessThanOrEqual(64 * 1024);
    expect(fb.headerBytesRead).toBeLessThan(fb.dataOffset + 64 * 1024);
    // The small file is shorter than one read window, so it can only read less.
    expect(fs.headerBytesRead).toBeLessThanOrEqual(fb.headerBytesRead);
    const r = ferrum(['inspect', big]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/4\.\d+ GiB|5\.\d+ GiB/);
  });
});
