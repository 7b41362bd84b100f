/** Time source for the limiter (milliseconds) and a way to wait; tests inject fakes. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time; `sleep` resolves early (without throwing) when the signal aborts. */
export const realClock: LimiterClock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A rolling-window rate limiter: at most `perSecond` acquisitions in ANY 1-second window
 * (not a fixed window that lets a full burst through at each boundary). `perSecond` 0 = unlimited.
 * It remembers the last `perSecond` grant times in a ring buffer: the next grant may happen only
 * once the oldest of them is a full window old.
 */
export class RateLimiter {
  private readonly times: number[];
  private next = 0;
  // Grants are serialised so concurrent callers cannot both take the same free slot.
  private queue: Promise<void> = Promise.resolve();

  private readonly windowMs: number;

  constructor(
    readonly perSecond: number,
    private readonly clock: LimiterClock = realClock,
  ) {
    if (!Number.isFinite(perSecond) || perSecond < 0) {
      throw new RangeError(`Expected rate limit to be a finite number >= 0, got ${perSecond}`);
    }
    const slots = Math.max(1, Math.ceil(perSecond));
    // Whole rates: N grants per 1,000 ms. Fractional ones stretch the window (0.5/s = 1 per 2,000 ms).
    this.windowMs = perSecond === 0 ? 0 : (1000 * slots) / perSecond;
    this.times = new Array<number>(slots).fill(Number.NEGATIVE_INFINITY);
  }

  /** Resolves when one more message may go out; returns at once when unlimited. Resolves early if the signal aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.perSecond === 0) return Promise.resolve();
    const grant = this.queue.then(() => this.take(signal));
    this.queue = grant.catch(() => undefined);
    return grant;
  }

  /** Takes a slot if one is free right now (never waits); always true when unlimited. */
  tryAcquire(): boolean {
    if (this.perSecond === 0) return true;
    if (this.nextFreeIn() > 0) return false;
    this.grant();
    return true;
  }

  /** Milliseconds until a slot is free (0 = now). */
  nextFreeIn(): number {
    if (this.perSecond === 0) return 0;
    return Math.max(0, this.times[this.next]! + this.windowMs - this.clock.now());
  }

  /**
   * The last `count` grants were handed over only now (the send loop takes its slots before the
   * commit that marks the copies 'sending', and hands them to SMTP after it): move their times to
   * now, so the window counts hand-overs and a slow commit cannot bunch two windows' worth together.
   */
  restampLast(count: number): void {
    if (this.perSecond === 0) return;
    const now = this.clock.now();
    const n = this.times.length;
    for (let k = 1; k <= Math.min(count, n); k++) this.times[(this.next - k + n) % n] = now;
  }

  private grant(): void {
    this.times[this.next] = this.clock.now();
    this.next = (this.next + 1) % this.times.length;
  }

  private async take(signal?: AbortSignal): Promise<void> {
    // The slot we may reuse is the oldest grant; it frees up a full window after it was given.
    for (;;) {
      const oldest = this.times[this.next]!;
      const wait = oldest + this.windowMs - this.clock.now();
      if (wait <= 0 || signal?.aborted) break;
      await this.clock.sleep(wait, signal);
    }
    this.grant();
  }
}
