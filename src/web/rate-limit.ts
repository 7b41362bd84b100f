/** What the limiter decided for one request. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * A sliding-window log: at most `limit` requests per key in any `windowMs` interval (no burst at window boundaries).
 * Refused requests do not count. Memory is bounded by sweeping idle keys.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private calls = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: () => Date = () => new Date(),
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`rate limit: expected an integer >= 1, got ${limit}`);
    if (!(windowMs > 0)) throw new Error(`rate limit window: expected milliseconds > 0, got ${windowMs}`);
  }

  /** Records a request for `key` if allowed. */
  hit(key: string): RateDecision {
    const now = this.clock().getTime();
    if (++this.calls % 1000 === 0 || this.hits.size > 10_000) this.sweep(now);
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length >= this.limit) {
      this.hits.set(key, recent);
      return { allowed: false, retryAfterMs: recent[0]! + this.windowMs - now };
    }
    recent.push(now);
    this.hits.set(key, recent);
    return { allowed: true };
  }

  private sweep(now: number): void {
    for (const [key, times] of this.hits) {
      if (times[times.length - 1]! <= now - this.windowMs) this.hits.delete(key);
    }
  }
}
