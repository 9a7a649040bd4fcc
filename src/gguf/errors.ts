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
