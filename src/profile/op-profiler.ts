import { writeFileSync } from 'node:fs';
import type { OpRecord } from '../backend/plan.js';

interface OpTotals {
  calls: number;
  ms: number;
}

/**
 * Collects one timing per op dispatch (eager mode). Summarises per kernel
 * for FERRUM_PROFILE and keeps every event for FERRUM_TRACE.
 */
export class OpProfiler {
  private readonly totals = new Map<string, OpTotals>();
  private readonly events: Array<{ name: string; step: number; ts: number; dur: number; index: number }> = [];
  private opIndex = 0;
  private lastStep = -1;
  private readonly origin = performance.timeOrigin;

  constructor(private readonly keepEvents: boolean) {}

  record = (op: OpRecord, step: number, startMs: number, endMs: number): void => {
    if (step !== this.lastStep) {
      this.lastStep = step;
      this.opIndex = 0;
    }
    const t = this.totals.get(op.name) ?? { calls: 0, ms: 0 };
    t.calls++;
    t.ms += endMs - startMs;
    this.totals.set(op.name, t);
    if (this.keepEvents) this.events.push({ name: op.name, step, ts: startMs, dur: endMs - startMs, index: this.opIndex });
    this.opIndex++;
  };

  /** Ops sorted by total time: kernel, calls, total ms, mean µs, share. */
  table(): string {
    const rows = [...this.totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((s, [, t]) => s + t.ms, 0);
    const lines = [`${'op'.padEnd(22)} ${'calls'.padStart(7)} ${'total ms'.padStart(10)} ${'mean us'.padStart(9)} ${'share'.padStart(6)}`];
    for (const [name, t] of rows) {
      lines.push(`${name.padEnd(22)} ${String(t.calls).padStart(7)} ${t.ms.toFixed(2).padStart(10)} ${((t.ms / t.calls) * 1000).toFixed(1).padStart(9)} ${((t.ms / total) * 100).toFixed(1).padStart(5)}%`);
    }
    lines.push(`${'total'.padEnd(22)} ${String(rows.reduce((s, [, t]) => s + t.calls, 0)).padStart(7)} ${total.toFixed(2).padStart(10)}`);
    return lines.join('\n');
  }

  /** Chrome trace-event JSON (open in Perfetto or chrome://tracing): one complete event per op. */
  writeTrace(path: string): void {
    const traceEvents = this.events.map((e) => ({
      name: e.name, cat: 'op', ph: 'X', pid: 1, tid: 1,
      ts: Math.round((this.origin + e.ts) * 1000), dur: Math.max(1, Math.round(e.dur * 1000)),
      args: { step: e.step, index: e.index },
    }));
    writeFileSync(path, JSON.stringify({ traceEvents, displayTimeUnit: 'ms' }));
  }
}
