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
};

/**
 * llama-bench flags with no ferrum counterpart, common in its command lines:
 * a clear error instead of commander's (`-ngl 99` would read as -n "gl").
 */
const ONE_BACKEND = 'ferrum runs every layer on the backend --backend names (metal or cpu)';
const ONE_DEVICE = 'ferrum runs on one device';
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
  '-mmp': 'ferrum always maps the file',
  '--mmap': 'ferrum always maps the file',
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
