import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir for one test file's fixtures. */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `ferrum-${tag}-`));
}
