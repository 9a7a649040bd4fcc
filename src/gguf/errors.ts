/**
 * A problem with a GGUF file that the user should see as one line: what is
 * wrong and where. Every check in the reader throws this, never a RangeError
 * from a buffer read, so the CLI can print it without a stack trace.
 */
export class GgufError extends Error {
  override readonly name = 'GgufError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** A name from the file, made safe for a one-line message: escaped and shortened. */
export function quoteName(s: string): string {
  const short = s.length > 64 ? `${s.slice(0, 64)}…` : s;
  return JSON.stringify(short);
}
