#!/usr/bin/env node
// Keeps package-lock.json usable by `npm ci` behind this workplace's registry
// mirror, which serves only some platforms' builds of packages such as
// node-llama-cpp and rollup. `npm install` then leaves those optional
// platform packages out of the lock, and `npm ci` rejects the lock as out of
// sync ("Missing: @rollup/rollup-darwin-arm64@ from lock file"). An entry per
// missing optional dependency (name and pinned version, marked optional) makes
// the lock whole; npm ci skips what it cannot fetch, as it does for any
// optional package. Run after `npm install` changes the lock:
//   node scripts/lockfile-platform-entries.mjs [package-lock.json]
// test/lockfile.test.ts fails when an entry is missing.
import { readFileSync, writeFileSync } from 'node:fs';

export function missingOptionalEntries(lock) {
  const packages = lock.packages ?? {};
  const missing = [];
  for (const [location, meta] of Object.entries(packages)) {
    for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
      const nested = location === '' ? `node_modules/${name}` : `${location}/node_modules/${name}`;
      if (!packages[`node_modules/${name}`] && !packages[nested]) missing.push({ key: `node_modules/${name}`, version: spec });
    }
  }
  return missing;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2] ?? new URL('../package-lock.json', import.meta.url).pathname;
  const lock = JSON.parse(readFileSync(path, 'utf8'));
  const missing = missingOptionalEntries(lock);
  for (const m of missing) lock.packages[m.key] = { version: m.version, optional: true };
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`lockfile-platform-entries: added ${missing.length} optional platform entries to ${path}`);
}
