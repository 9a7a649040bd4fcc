/**
 * Streams text while watching for stop strings: text that could still be the
 * start of a stop string is held back, and a matched stop string (and what
 * follows it) is never printed, as llama-server's `stop` behaves.
 */
export class StopStringFilter {
  private pending = '';
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get matched(): boolean {
    return this.stopped;
  }

  /** Feed newly decoded text; returns the text that is safe to print now. */
  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    if (this.stops.length === 0) {
      const out = this.pending;
      this.pending = '';
      return out;
    }
    let cut = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    // Hold back the longest tail that is a prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** End of generation: whatever was held back was not a stop string after all. */
  flush(): string {
    const out = this.stopped ? '' : this.pending;
    this.pending = '';
    return out;
  }
}
