import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Sequential little-endian reads from a file through a sliding window, so a
 * header is parsed without reading tensor data. Every read is checked against
 * the file's size first: a lying header ends in `onTruncated`, not in a huge
 * allocation or a RangeError.
 */
export class FileCursor {
  private readonly fd: number;
  readonly size: number;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private pos = 0;
  /** Bytes actually read from disk: shows a header parse never touches tensor data. */
  bytesRead = 0;
  private chunk = 64 << 10;

  constructor(
    path: string,
    private readonly onTruncated: (what: string, needed: number, at: number) => never,
  ) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Make `n` bytes from the current position available in the window. */
  private need(n: number, what: string): number {
    if (n > this.remaining) this.onTruncated(what, n, this.pos);
    const rel = this.pos - this.windowStart;
    if (rel + n <= this.window.length) return rel;
    // Small first reads keep a header-only parse from pulling in tensor data;
    // doubling keeps big vocabularies (megabytes of strings) to few reads.
    const len = Math.min(Math.max(n, this.chunk), this.remaining);
    this.chunk = Math.min(this.chunk * 2, 8 << 20);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const r = readSync(this.fd, buf, got, len - got, this.pos + got);
      if (r === 0) this.onTruncated(what, n, this.pos);
      got += r;
    }
    this.bytesRead += len;
    this.window = buf;
    this.windowStart = this.pos;
    return 0;
  }

  u8(what: string): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.window.readUInt8(o);
  }
  i8(what: string): number {
    const o = this.need(1, what);
    this.pos += 1;
    return this.window.readInt8(o);
  }
  u16(what: string): number {
    const o = this.need(2, what);
    this.pos += 2;
    return this.window.readUInt16LE(o);
  }
  i16(what: string): number {
    const o = this.need(2, what);
    this.pos += 2;
    return this.window.readInt16LE(o);
  }
  u32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.window.readUInt32LE(o);
  }
  i32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.window.readInt32LE(o);
  }
  f32(what: string): number {
    const o = this.need(4, what);
    this.pos += 4;
    return this.window.readFloatLE(o);
  }
  f64(what: string): number {
    const o = this.need(8, what);
    this.pos += 8;
    return this.window.readDoubleLE(o);
  }
  u64(what: string): bigint {
    const o = this.need(8, what);
    this.pos += 8;
    return this.window.readBigUInt64LE(o);
  }
  i64(what: string): bigint {
    const o = this.need(8, what);
    this.pos += 8;
    return this.window.readBigInt64LE(o);
  }
  /** Raw bytes decoded as UTF-8; the caller has bounded `n` by the file size. */
  utf8(n: number, what: string): string {
    const o = this.need(n, what);
    this.pos += n;
    return this.window.toString('utf8', o, o + n);
  }
}
