import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePerfReport, samplesByType, typeInSymbol } from '../scripts/bench/kernel-symbols.mjs';
import { REPO_ROOT } from './helpers/shared.js';

/* scripts/kernel-rates.mjs charges each profiled symbol to a weight type;
 * the symbols are the ones llama.cpp de3ff815ea7d and ferrum's CPU library
 * showed under `perf report` on the bench fixtures */
describe('kernel symbols by weight type (scripts/bench/kernel-symbols.mjs)', () => {
  it('takes the weight type a kernel names first, not its activations', () => {
    const k = ['q6_k', 'q4_k'];
    expect(typeInSymbol('ggml_gemv_q4_K_8x8_q8_K', k)).toBe('q4_k');
    expect(typeInSymbol('ggml_vec_dot_q6_K_q8_K', k)).toBe('q6_k');
    expect(typeInSymbol('fr_gemm_q4_K_r8_q8_K', k)).toBe('q4_k');
    expect(typeInSymbol('fr_gemm_q6_K_r8_q8_K', k)).toBe('q6_k');
    const q8 = ['q8_0'];
    expect(typeInSymbol('ggml_vec_dot_q8_0_q8_0', q8)).toBe('q8_0');
    expect(typeInSymbol('fr_gemm2_q8_0_r8_q8_0', q8)).toBe('q8_0');
  });

  it("knows ggml's name for Q4_0 in its repacked gemv", () => {
    const t = ['q6_k', 'q4_0'];
    expect(typeInSymbol('gemv_q4_b32_8x8_q8_0_lut_avx<block<4, 8> >', t)).toBe('q4_0');
    expect(typeInSymbol('fr_gemm_q4_0_r8_q8_0', t)).toBe('q4_0');
  });

  it('charges no weight type for activation quantizing, repacking or a type the model lacks', () => {
    expect(typeInSymbol('quantize_row_q8_0', ['q8_0'])).toBeUndefined();
    expect(typeInSymbol('fr_q8_0_from_float', ['q8_0'])).toBeUndefined();
    expect(typeInSymbol('repack_q4_K_to_q4_K_8_bl', ['q4_k'])).toBeUndefined();
    expect(typeInSymbol('fr_repack_q6_K_r8', ['q6_k'])).toBeUndefined();
    expect(typeInSymbol('ggml_vec_dot_f16', ['q4_k', 'q6_k'])).toBeUndefined();
    // q4_K is not q4_k_m, nor a prefix of a longer name
    expect(typeInSymbol('fr_gemm_q4_K_r8_q8_K', ['q4_0'])).toBeUndefined();
    expect(typeInSymbol('my_q4_0x_kernel', ['q4_0'])).toBeUndefined();
  });

  it('reads perf report rows and adds samples per type, load-time symbols left out', () => {
    const report = [
      '# Samples: 48K of event \'cpu-clock:ppp\'',
      '#',
      '    46.85%         22886  [.] ggml_gemv_q4_K_8x8_q8_K',
      '    32.85%         16049  [.] ggml_vec_dot_q6_K_q8_K',
      '     5.06%          2472  [.] 0x000000000001f7da',
      '     2.02%           986  [.] repack_q4_K_to_q4_K_8_bl',
      '     0.33%           161  [k] exc_page_fault',
      '     0.21%           100  [k] clear_page_erms',
      '     0.15%            71  [.] ggml::cpu::repack::tensor_traits<block_q4_K, 8l, 8l, (ggml_type)15>::compute_forward',
      '',
    ].join('\n');
    const symbols = parsePerfReport(report);
    expect(symbols).toHaveLength(7);
    expect(symbols[6]).toEqual({ symbol: 'ggml::cpu::repack::tensor_traits<block_q4_K, 8l, 8l, (ggml_type)15>::compute_forward', samples: 71 });
    const { perType, rest } = samplesByType(symbols, ['q6_k', 'q4_k']);
    // the repacked matmul's driver (ggml::cpu::repack::...) is q4_K's time; repacking at load is not
    expect(Object.fromEntries(perType)).toEqual({ q4_k: 22886 + 71, q6_k: 16049 });
    expect(rest).toBe(2472 + 161);
  });
});

describe('scripts/kernel-rates.mjs arguments', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/kernel-rates.mjs'), ...args], { encoding: 'utf8' });
  it('one line and exit 1 for no model or a bad option', () => {
    for (const [args, msg] of [[[], /give at least one MODEL\.gguf/], [['m.gguf', '-n', 'x'], /-n needs a positive integer/], [['m.gguf', '--bogus'], /unknown option --bogus/], [['/no/such/m.gguf'], /\/no\/such\/m\.gguf: no such file/]] as const) {
      const r = run([...args]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`^kernel-rates: ${msg.source}$`));
    }
  });
});
