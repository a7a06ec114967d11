import { bytes, clock } from './format.js';

export interface ProgressSample {
  readonly done: number;
  readonly total: number | null;
  readonly elapsedMs: number;
  /** How to print amounts: bytes (upload) or plain counts (hosts, tasks). */
  readonly unit: 'bytes' | 'items';
  readonly label?: string;
}

/** `[#####.....]` for a ratio 0..1. */
export function bar(ratio: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

const amount = (n: number, unit: ProgressSample['unit']) => (unit === 'bytes' ? bytes(n) : String(n));

/**
 * `label [#########···········]  45%  12.0 MB/27.0 MB  4.1 MB/s  ETA 0:04`, fitted to `width`.
 * Rate is the average since the start: steadier than an instantaneous rate on a bursty socket.
 */
export function formatProgress(s: ProgressSample, width = 80): string {
  const seconds = s.elapsedMs / 1000;
  const rate = seconds > 0 ? s.done / seconds : 0;
  const rateText = s.unit === 'bytes' ? `${bytes(Math.round(rate))}/s` : `${rate.toFixed(rate < 10 ? 1 : 0)}/s`;
  const known = s.total !== null && s.total > 0;
  const ratio = known ? Math.min(1, s.done / s.total!) : 0;
  const eta = known && rate > 0 ? clock(((s.total! - s.done) / rate) * 1000) : '-';
  const tail = known
    ? `${String(Math.floor(ratio * 100)).padStart(3)}%  ${amount(s.done, s.unit)}/${amount(s.total!, s.unit)}  ${rateText}  ETA ${eta}`
    : `${amount(s.done, s.unit)}  ${rateText}  ${clock(s.elapsedMs)}`;
  const label = s.label ? `${s.label} ` : '';
  const barWidth = Math.max(10, Math.min(40, width - label.length - tail.length - 4));
  return `${label}${bar(ratio, barWidth)}  ${tail}`;
}

export interface ProgressSink {
  update(done: number, total: number | null): void;
  finish(): void;
}

/**
 * Progress goes to stderr so stdout stays machine-readable. On a terminal it redraws one line at
 * most ~10 times a second; elsewhere (CI logs) it prints a line every few seconds instead.
 */
export function progressSink(stream: NodeJS.WriteStream | { isTTY?: boolean; columns?: number; write(s: string): unknown }, unit: ProgressSample['unit'], label: string, enabled = true, now: () => number = Date.now): ProgressSink {
  const start = now();
  let last = 0;
  let lastDone = 0;
  let lastTotal: number | null = null;
  const tty = stream.isTTY === true;
  const draw = (final: boolean) => {
    const line = formatProgress({ done: lastDone, total: lastTotal, elapsedMs: now() - start, unit, label }, (stream.columns ?? 80) - 1);
    stream.write(tty ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  return {
    update(done, total) {
      lastDone = done;
      lastTotal = total;
      if (!enabled) return;
      const t = now();
      if (t - last >= (tty ? 100 : 5000)) {
        last = t;
        draw(false);
      }
    },
    finish() {
      if (enabled) draw(true);
    },
  };
}
