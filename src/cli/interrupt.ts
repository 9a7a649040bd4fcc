/**
 * Ctrl-C during generation: the first stops generation after the current
 * token (the caller prints its summary and exits 130), a second exits at once.
 */
export class Interrupt {
  private count = 0;
  private readonly handler = (): void => {
    this.count++;
    if (this.count >= 2) process.exit(130);
  };

  constructor() {
    process.on('SIGINT', this.handler);
  }

  get requested(): boolean {
    return this.count > 0;
  }

  /** A new chat turn: a past Ctrl-C no longer counts. */
  reset(): void {
    this.count = 0;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
  }
}
