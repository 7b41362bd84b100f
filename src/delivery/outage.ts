import { realClock, type LimiterClock } from './rate-limit.ts';

/**
 * Pauses every worker while the SMTP server is unreachable, and gives up after a few tries.
 * One outage usually fails every in-flight send at once; those failures count once: a failure
 * of a send dispatched before the current pause began (an older epoch) belongs to that pause.
 * Any reply from the server (250, 4xx, 5xx) ends the outage and resets the count.
 */
export class OutageGate {
  private epochValue = 0;
  private failures = 0;
  private resumeAt = 0;

  constructor(
    /** Pauses before giving up. */
    private readonly maxRetries: number,
    /** First pause; doubles each time. */
    private readonly backoffMs: number,
    private readonly clock: LimiterClock = realClock,
  ) {}

  /** The current outage generation; read it when dispatching a send. */
  get epoch(): number {
    return this.epochValue;
  }

  /** Milliseconds left in the current pause (0 when not paused). */
  get remainingMs(): number {
    return Math.max(0, this.resumeAt - this.clock.now());
  }

  /** True while workers should not dispatch. */
  get paused(): boolean {
    return this.clock.now() < this.resumeAt;
  }

  /** A send dispatched at `epoch` failed at connection level: 'pause' (retry later) or 'give-up'. */
  failed(epoch: number): { action: 'pause'; pauseMs: number; failures: number; fresh: boolean } | { action: 'give-up'; failures: number } {
    if (epoch < this.epochValue) {
      return { action: 'pause', pauseMs: Math.max(0, this.resumeAt - this.clock.now()), failures: this.failures, fresh: false };
    }
    this.epochValue++;
    this.failures++;
    if (this.failures > this.maxRetries) return { action: 'give-up', failures: this.failures };
    const pauseMs = this.backoffMs * 2 ** (this.failures - 1);
    this.resumeAt = this.clock.now() + pauseMs;
    return { action: 'pause', pauseMs, failures: this.failures, fresh: true };
  }

  /** The server answered: the outage (if any) is over. */
  succeeded(): void {
    this.failures = 0;
  }

  /** Waits out the current pause (returns early when the signal aborts). */
  async waitUntilResumed(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.resumeAt - this.clock.now();
      if (wait <= 0 || signal?.aborted) return;
      await this.clock.sleep(wait, signal);
    }
  }
}

/** What a `run.paused` log event says about one wait (the SMTP server's outage or the database's). */
export interface PauseEvent {
  /** What failed, in words ("SMTP server unreachable: connect ECONNREFUSED 127.0.0.1:2525"). */
  failure: string;
  pauseMs: number;
  /** This wait's number (1 for the first). */
  retry: number;
  /** Waits before the run gives up, when it counts them (the SMTP server: SMTP_RETRY_ATTEMPTS). */
  retries?: number;
}

/**
 * One plain line for a person watching `almanac send`: what failed and when the next try is, as a
 * clock time in `timeZone` and as a delay (`now` is when the wait began).
 */
export function pauseNotice(pause: PauseEvent, now: Date, timeZone: string): string {
  const at = new Date(now.getTime() + pause.pauseMs);
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).format(at);
  const count = pause.retries ? `retry ${pause.retry} of ${pause.retries}` : `retry ${pause.retry}`;
  return `waiting: ${pause.failure}; next try at ${time} (in ${formatDelay(pause.pauseMs)}, ${count}); nothing is lost, Ctrl-C stops and the same command resumes`;
}

/** 450 ms, 2.5 s, 30 s, 2 min, 2 min 30 s. */
function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
