import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { ggmlTypeName, readGguf } from '../src/gguf/index.js';
import { ggufValueToJson, type JsonValue } from '../src/gguf/to-json.js';
import { ferrum } from './helpers/cli.js';
import { sharedFile } from './helpers/shared.js';

interface ManifestRow { file: string; arch: string; tensors: number; perType: Record<string, number> }

/** The table in ../shared/models/MANIFEST.md: file | bytes | sha | arch | tensors | per-type tensors | use. */
function readManifest(path: string): ManifestRow[] {
  const rows: ManifestRow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 8 || !cells[1]!.endsWith('.gguf')) continue;
    const perType: Record<string, number> = {};
    for (const m of cells[6]!.matchAll(/([A-Z0-9_]+) (\d+)/g)) perType[m[1]!] = Number(m[2]);
    // "same shape" / "same" rows repeat the architecture of the row above.
    const arch = cells[4]!.startsWith('same') ? rows.at(-1)!.arch : cells[4]!.split(',')[0]!.trim();
    rows.push({ file: cells[1]!, arch, tensors: Number(cells[5]), perType });
  }
  return rows;
}

/** node-llama-cpp nests metadata by dotted key parts; flatten it back to GGUF keys. */
function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

const manifestPath = sharedFile('models/MANIFEST.md');
const modelsDir = manifestPath ? join(manifestPath, '..') : undefined;

describe.skipIf(!manifestPath)('ferrum inspect on every model in ../shared/models', () => {
  const manifest = manifestPath ? readManifest(manifestPath) : [];
  const files = modelsDir ? readdirSync(modelsDir).filter((f) => f.endsWith('.gguf')).sort() : [];

  it('the manifest lists every model file', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(manifest.map((r) => r.file).sort()).toEqual(files);
  });

  for (const row of manifest) {
    it(`${row.file}: agrees with MANIFEST.md`, () => {
      const r = ferrum(['inspect', join(modelsDir!, row.file), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as { architecture: string; tensorCount: number; quantTypes: Array<{ type: string; tensors: number }> };
      expect(s.architecture).toBe(row.arch);
      expect(s.tensorCount).toBe(row.tensors);
      expect(Object.fromEntries(s.quantTypes.map((q) => [q.type, q.tensors]))).toEqual(row.perType);
    });

    it(`${row.file}: agrees with node-llama-cpp's readGgufFileInfo`, async () => {
      const path = join(modelsDir!, row.file);
      const ours = readGguf(path);
      const theirs = await readGgufFileInfo(path, { readTensorInfo: true });
      expect(ours.version).toBe(theirs.version);
      expect(ours.tensors.length).toBe(Number(theirs.tensorCount));
      const tensors = theirs.fullTensorInfo ?? theirs.tensorInfo ?? [];
      expect(tensors.length).toBe(ours.tensors.length);
      tensors.forEach((t, i) => {
        const o = ours.tensors[i]!;
        expect(o.name).toBe(t.name);
        expect(o.dims).toEqual(t.dimensions.map(Number));
        expect(ggmlTypeName(o.type)).toBe(ggmlTypeName(t.ggmlType));
        expect(o.fileOffset).toBe(Number(t.fileOffset));
      });
      const flat = flatten(theirs.metadata as unknown as Record<string, unknown>);
      let compared = 0;
      for (const [key, { value }] of ours.metadata) {
        if (!(key in flat)) continue;
        const mine: JsonValue = ggufValueToJson(value);
        const their = flat[key];
        if (Array.isArray(their)) expect((mine as JsonValue[]).length, key).toBe(their.length);
        else expect(mine, key).toEqual(typeof their === 'bigint' ? Number(their) : their);
        compared++;
      }
      expect(compared).toBeGreaterThan(8);
    });
  }
});
