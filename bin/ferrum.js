#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (or `npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('ferrum: not built yet; run `npm install` (or `npm run build`) in the ferrum directory\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
