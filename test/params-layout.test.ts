import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_PARAMS } from '../src/backend/params.js';
import { OP_BYTES, PATCH_BYTES, PLAN_HEADER_BYTES, FR_MAX_BINDINGS, FR_PLAN_MAGIC } from '../src/backend/plan.js';
import { FR_ABI_VERSION } from '../src/backend/native-lib.js';
import { R8_BLOCK_BYTES, R8_ROWS } from '../src/model/repack.js';
import { ggmlKernelSuffix, ggmlTypeByName } from '../src/gguf/index.js';
import { cCompiler, compileAndRun } from './helpers/cc.js';
import { REPO_ROOT } from './helpers/shared.js';
import { tempDir } from './helpers/tmp.js';
import { KV_BLOCK_ROWS, kvRow } from './helpers/kv-layout.js';

const cc = cCompiler();

/**
 * metal/ferrum_params.h and native-shim/include/ferrum_shim.h are the source
 * of truth; TypeScript writes the same bytes. The C compiler reports the real
 * sizes and offsets, and each must equal TypeScript's.
 */
describe.skipIf(!cc)('params and plan layouts agree between C and TypeScript', () => {
  it('every params struct: sizeof and offsetof of each field', () => {
    const lines = ALL_PARAMS.flatMap((s) => [
      `printf("%s sizeof %zu\\n", "${s.cName}", sizeof(${s.cName}));`,
      ...s.fields.filter(([f]) => f !== '_pad').map(([f]) => `printf("%s %s %zu\\n", "${s.cName}", "${f}", offsetof(${s.cName}, ${f}));`),
    ]);
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include "ferrum_params.h"\nint main(void){\n${lines.join('\n')}\nreturn 0;}\n`;
    const out = compileAndRun(cc!, src, join(tempDir('layout'), 'params'), [`-I${join(REPO_ROOT, 'metal')}`]);
    const c = new Map(out.trim().split('\n').map((l) => {
      const p = l.split(' ');
      return [`${p[0]} ${p[1]}`, Number(p[2])];
    }));
    let checked = 0;
    for (const s of ALL_PARAMS) {
      expect(c.get(`${s.cName} sizeof`), `${s.cName} size`).toBe(s.size);
      for (const [f] of s.fields) {
        if (f === '_pad') continue;
        expect(c.get(`${s.cName} ${f}`), `${s.cName}.${f}`).toBe(s.offsetOf(f));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('the KV cache layout: FR_KV_BLOCK_ROWS and fr_kv_row as the tests\' copy has them', () => {
    const shapes = [[1, 7], [2, 1024], [4, 1025], [2, 2500], [8, 3000]] as const;
    const cases = shapes.flatMap(([heads, nCtx]) => [0, 1, 1023, 1024, 1025, 2047, 2048, nCtx - 1]
      .filter((pos) => pos < nCtx).flatMap((pos) => Array.from({ length: heads }, (_, g) => [g, pos, heads, nCtx] as const)));
    const src = `#include <stdio.h>\n#include "ferrum_params.h"\nint main(void){\nprintf("%u", FR_KV_BLOCK_ROWS);
${cases.map(([g, pos, h, n]) => `printf(" %llu", (unsigned long long)fr_kv_row(${g}, ${pos}, ${h}, ${n}));`).join('\n')}
return 0;}\n`;
    const out = compileAndRun(cc!, src, join(tempDir('layout'), 'kv'), [`-I${join(REPO_ROOT, 'metal')}`]);
    expect(out.trim().split(' ').map(Number)).toEqual([KV_BLOCK_ROWS, ...cases.map(([g, pos, h, n]) => kvRow(g, pos, h, n))]);
  });

  it('op records, patches and the plan header', () => {
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include "ferrum_shim.h"\nint main(void){
printf("%zu %zu %zu %zu %zu %zu %zu %d %u %d\\n", sizeof(fr_op), sizeof(fr_patch), sizeof(fr_plan_header),
  offsetof(fr_op, bindings), offsetof(fr_op, grid), offsetof(fr_op, threadgroup), offsetof(fr_binding, offset),
  FR_MAX_BINDINGS, FR_PLAN_MAGIC, FR_ABI_VERSION);
return 0;}\n`;
    const out = compileAndRun(cc!, src, join(tempDir('layout'), 'plan'), [`-I${join(REPO_ROOT, 'native-shim/include')}`]);
    expect(out.trim().split(' ').map(Number)).toEqual([OP_BYTES, PATCH_BYTES, PLAN_HEADER_BYTES, 40, 16, 28, 8, FR_MAX_BINDINGS, FR_PLAN_MAGIC, FR_ABI_VERSION]);
  });

  it('repacked weight blocks: the sizes TypeScript allocates by are the C layouts\'', () => {
    const names = [...R8_BLOCK_BYTES.keys()];
    const src = `#include <stdio.h>\n#include "quants/blocks.h"\nint main(void){
printf("%d", FR_R8_ROWS);
${names.map((n) => `printf(" %zu", sizeof(fr_block_${ggmlKernelSuffix(ggmlTypeByName(n)!.id)}_r8));`).join('\n')}
return 0;}\n`;
    const out = compileAndRun(cc!, src, join(tempDir('layout'), 'r8'), [`-I${join(REPO_ROOT, 'native-shim/cpu')}`]);
    expect(out.trim().split(' ').map(Number)).toEqual([R8_ROWS, ...names.map((n) => R8_BLOCK_BYTES.get(n))]);
  });
});
