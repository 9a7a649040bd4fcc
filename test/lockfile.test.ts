import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without types
import { missingOptionalEntries } from '../scripts/lockfile-platform-entries.mjs';
import { REPO_ROOT } from './helpers/shared.js';

describe('package-lock.json', () => {
  it('has an entry for every optional platform package, so `npm ci` accepts it', () => {
    const lock = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package-lock.json'), 'utf8')) as unknown;
    const missing = (missingOptionalEntries as (l: unknown) => Array<{ key: string }>)(lock);
    expect(missing.map((m) => m.key), 'run: node scripts/lockfile-platform-entries.mjs').toEqual([]);
  });
});
