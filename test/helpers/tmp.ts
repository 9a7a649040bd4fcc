import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/* Directories made by this test file; test/setup/remove-temp-dirs.ts removes them after the file. */
const made = new Set<string>();

/** A fresh directory under the OS temp dir for one test file's fixtures, removed after the file's tests. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ferrum-${tag}-`));
  made.add(dir);
  return dir;
}

/** Removes every directory tempDir made so far; returns how many. */
export function removeTempDirs(): number {
  const n = made.size;
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
  return n;
}
