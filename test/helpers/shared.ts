import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared beside the checkout: real models, references and corpus (absent in a user's clone). */
export const SHARED_DIR = resolve(REPO_ROOT, '../shared');
export const IS_CI = process.env.CI === 'true';

/**
 * Path of a file under ../shared, or undefined (the caller skips) when it is
 * absent. Under CI=true a missing file is a failure, not a skip.
 */
export function sharedFile(rel: string): string | undefined {
  const p = resolve(SHARED_DIR, rel);
  if (existsSync(p)) return p;
  if (IS_CI) throw new Error(`CI=true but ${p} is missing: the shared test data must be present in CI`);
  console.warn(`skipping: ${p} is absent (tests that need ../shared run only beside it)`);
  return undefined;
}
