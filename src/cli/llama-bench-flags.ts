import { UserError } from './user-error.js';

/**
 * llama-bench's flags of more than one letter after a single dash, which
 * `ferrum bench` takes too so that its command lines carry over. Commander
 * reads `-pg 512,128` as -p with the value "g" (and -ctk as -c -t k), so
 * before parsing, and only after the bench command, these are renamed to
 * ferrum's long options, and the ones ferrum has no use for are dropped or
 * refused with a reason (translateLlamaBenchFlags).
 */
const ALIASES: Readonly<Record<string, string>> = {
  '-pg': '--n-pg',
  '-ctk': '--cache-type-k',
  '-ctv': '--cache-type-v',
  '-oe': '--output-err',
  '--batch-size': '--batch',
};

/**
 * llama-bench flags (with no value) for what ferrum does anyway: progress on
 * stderr is always shown, and nothing is ever downloaded.
 */
const ALREADY_SO = new Set(['--progress', '--offline']);

/**
 * llama-bench flags with no ferrum counterpart, common in its command lines:
 * a clear error instead of commander's (`-ngl 99` would read as -n "gl").
 */
const ONE_BACKEND = 'ferrum runs every layer on the backend --backend names (metal or cpu)';
const ONE_DEVICE = 'ferrum runs on one device';
const LOCAL_FILES = 'ferrum reads local .gguf files and never downloads: give a path';
const MAPPED = 'ferrum always maps the file';
const NO_FIT = 'ferrum does not fit layers to device memory; every layer runs on the --backend';
const NO_COUNTERPART: Readonly<Record<string, string>> = {
  '-ngl': ONE_BACKEND,
  '--n-gpu-layers': ONE_BACKEND,
  '-nkvo': 'the KV cache lives where the layers run',
  '--no-kv-offload': 'the KV cache lives where the layers run',
  '-sm': ONE_DEVICE,
  '--split-mode': ONE_DEVICE,
  '-mg': ONE_DEVICE,
  '--main-gpu': ONE_DEVICE,
  '-ts': ONE_DEVICE,
  '--tensor-split': ONE_DEVICE,
  '-ub': 'ferrum has one batch size, -b',
  '--ubatch-size': 'ferrum has one batch size, -b',
  '-mmp': MAPPED,
  '--mmap': MAPPED,
  '-lm': MAPPED,
  '--load-mode': MAPPED,
  '-lzm': MAPPED,
  '--lazy-mode': MAPPED,
  '-fitt': NO_FIT,
  '--fit-target': NO_FIT,
  '-fitc': NO_FIT,
  '--fit-ctx': NO_FIT,
  '-ncmoe': ONE_BACKEND,
  '--n-cpu-moe': ONE_BACKEND,
  '-ot': ONE_BACKEND,
  '--override-tensor': ONE_BACKEND,
  '-nopo': ONE_BACKEND,
  '--no-op-offload': ONE_BACKEND,
  '--no-host': ONE_BACKEND,
  '-dev': `${ONE_DEVICE}, the one --backend names`,
  '--device': `${ONE_DEVICE}, the one --backend names`,
  '--list-devices': `${ONE_DEVICE}, the one --backend names; the table's last line says which`,
  '-C': 'ferrum\'s threads run on the CPUs the process may use: start it under taskset',
  '--cpu-mask': 'ferrum\'s threads run on the CPUs the process may use: start it under taskset',
  '--cpu-strict': 'ferrum\'s threads run on the CPUs the process may use: start it under taskset',
  '--poll': 'ferrum\'s workers spin for a fixed while between the ops of a step, then sleep',
  '--numa': 'ferrum does not place memory by NUMA node: start it under numactl',
  '-hf': LOCAL_FILES,
  '-hfr': LOCAL_FILES,
  '--hf-repo': LOCAL_FILES,
  '-hff': LOCAL_FILES,
  '--hf-file': LOCAL_FILES,
  '-hft': LOCAL_FILES,
  '--hf-token': LOCAL_FILES,
  '-v': 'ferrum bench writes no log beside its progress line',
  '--verbose': 'ferrum bench writes no log beside its progress line',
  '-embd': 'ferrum bench measures generation models only',
  '--embeddings': 'ferrum bench measures generation models only',
};

/** llama-bench's -fa values that ask for the fused attention ferrum always runs. */
const FLASH_ATTN_ON = new Set(['1', 'on', 'auto']);

/** argv as process.argv has it (node, script, then ferrum's own words). */
export function translateLlamaBenchFlags(argv: readonly string[]): string[] {
  // the command is the first word that is not an option (ferrum's global ones take no value)
  const command = argv.findIndex((a, i) => i >= 2 && !a.startsWith('-'));
  if (command < 0 || argv[command] !== 'bench') return [...argv];
  const bench = command;
  // after `--` every word is an operand
  const dashes = argv.indexOf('--', bench);
  const end = dashes < 0 ? argv.length : dashes;
  const out = argv.slice(0, bench + 1);
  for (let i = bench + 1; i < end; i++) {
    const a = argv[i]!;
    const why = NO_COUNTERPART[a];
    if (why !== undefined) throw new UserError(`${a} (llama-bench's) has no ferrum counterpart: ${why}`);
    if (ALREADY_SO.has(a)) continue;
    if (a === '-fa' || a === '--flash-attn') {
      // ferrum's attention is always the fused kind: -fa on is what it does anyway
      const values = (argv[i + 1] ?? '').split(',');
      if (i + 1 >= end || !values.every((v) => FLASH_ATTN_ON.has(v))) {
        throw new UserError(`${a}: ferrum's attention is always fused (llama.cpp's flash attention), so only on, 1 or auto`);
      }
      i++;
      continue;
    }
    out.push(ALIASES[a] ?? a);
  }
  return [...out, ...argv.slice(end)];
}
