import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './helpers/tmp.js';

describe('test temp directories', () => {
  it('are removed with their contents once the file is done', () => {
    const a = tempDir('cleanup');
    const b = tempDir('cleanup');
    writeFileSync(join(a, 'f.bin'), 'x');
    expect(a).not.toBe(b);
    expect(existsSync(join(a, 'f.bin'))).toBe(true);
    expect(removeTempDirs()).toBe(2);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(false);
    expect(removeTempDirs()).toBe(0);
  });
});
