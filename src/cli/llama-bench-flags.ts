/**
 * llama-bench's flags of more than one letter after a single dash, which
 * `ferrum bench` takes too so that its command lines carry over. Commander
 * reads `-pg 512,128` as -p with the value "g" (and -ctk as -c -t k), so
 * these are renamed to ferrum's long options before parsing, and only after
 * the bench command.
 */
const ALIASES: Readonly<Record<string, string>> = {
  '-pg': '--n-pg',
  '-ctk': '--cache-type-k',
  '-ctv': '--cache-type-v',
};

export function renameLlamaBenchFlags(argv: readonly string[]): string[] {
  const bench = argv.indexOf('bench');
  // after `--` every word is an operand
  const end = argv.indexOf('--', bench);
  return argv.map((a, i) => (bench >= 0 && i > bench && (end < 0 || i < end) ? ALIASES[a] ?? a : a));
}
