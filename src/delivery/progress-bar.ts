import type { SendProgress } from './sender.ts';

const WIDTH = 28;

/** Formats a count with thousands separators. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One progress line: bar, done/total, rate, ETA. */
export function progressLine(p: SendProgress): string {
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(ratio * WIDTH);
  const rate = p.elapsedMs > 0 ? ((p.done - p.skipped) * 1000) / p.elapsedMs : 0;
  const eta = rate > 0 ? ((p.total - p.done) / rate) * 1000 : Number.NaN;
  return (
    `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${formatCount(p.done)}/${formatCount(p.total)} ` +
    `${Math.round(ratio * 100)}% · ${formatCount(p.msgsPerSecond)} msg/s · ETA ${formatDuration(eta)}` +
    (p.failed + p.bounced + p.deferred + p.inDoubt > 0
      ? ` · failed ${p.failed} bounced ${p.bounced} deferred ${p.deferred} in doubt ${p.inDoubt}`
      : '')
  );
}

/** A live progress bar redrawn in place on a terminal stream; `clear()` before printing other lines. */
export class ProgressBar {
  private shown = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: SendProgress): void {
    const columns = this.stream.columns || 100;
    this.stream.write(`\r${progressLine(p).slice(0, columns - 1)}\x1b[K`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
