import { isIP } from 'node:net';
import { plainAddress } from './trust-proxy.ts';

/** What the limiter decided for one request. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Clients tracked at most, unless the constructor is told otherwise. */
export const DEFAULT_MAX_KEYS = 100_000;

/**
 * A sliding-window log: at most `limit` requests per key in any `windowMs` interval (no burst at window boundaries).
 * Refused requests do not count.
 *
 * Cost per request is constant whatever the number of clients: a key keeps at most `limit` times, and a queue in time
 * order records each allowed request, so the keys whose window has passed are found at the queue's head and each is
 * removed once (no sweep over all keys). Memory is bounded by `maxKeys`: past it the key idle the longest is forgotten
 * (it starts afresh; with that many clients in one window the oldest are let go rather than memory growing).
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  /** Allowed requests in time order; an entry is stale once its key has a later request or is gone. */
  private queue: { key: string; at: number }[] = [];
  private head = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: () => Date = () => new Date(),
    readonly maxKeys: number = DEFAULT_MAX_KEYS,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`rate limit: expected an integer >= 1, got ${limit}`);
    if (!(windowMs > 0)) throw new Error(`rate limit window: expected milliseconds > 0, got ${windowMs}`);
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error(`rate limit clients: expected an integer >= 1, got ${maxKeys}`);
  }

  /** Keys currently remembered (at most maxKeys). */
  get size(): number {
    return this.hits.size;
  }

  /** Records a request for `key` if allowed. */
  hit(key: string): RateDecision {
    const now = this.clock().getTime();
    const since = now - this.windowMs;
    this.forget((at) => at <= since);
    const times = this.hits.get(key) ?? [];
    // Oldest first; at most `limit` entries, so this is bounded by the limit, not by traffic.
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length >= this.limit) return { allowed: false, retryAfterMs: times[0]! + this.windowMs - now };
    times.push(now);
    this.hits.set(key, times);
    this.queue.push({ key, at: now });
    if (this.hits.size > this.maxKeys) this.forget(() => true, 1);
    return { allowed: true };
  }

  /**
   * Pops the queue's head while `drop(at)` holds for its latest entry, deleting those keys (at most `limit` keys);
   * stale entries are popped on the way. Each entry is popped once, so the cost is amortised constant per request.
   */
  private forget(drop: (at: number) => boolean, limit = Infinity): void {
    let dropped = 0;
    while (this.head < this.queue.length && dropped < limit) {
      const { key, at } = this.queue[this.head]!;
      const times = this.hits.get(key);
      const live = times !== undefined && times[times.length - 1] === at;
      if (live && !drop(at)) break;
      if (live) {
        this.hits.delete(key);
        dropped++;
      }
      this.head++;
    }
    // Compact once the popped part is the larger half: each entry is copied at most once more.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The key a visitor is counted under: an IPv4 address as it is, an IPv6 address by its /64 (one subscriber line is
 * usually given a whole /64, so counting single IPv6 addresses would give one visitor billions of allowances).
 */
export function rateLimitKey(address: string): string {
  const plain = plainAddress(address);
  if (isIP(plain) !== 6) return plain;
  const bare = plain.toLowerCase().split('%')[0]!; // a zone index (fe80::1%eth0) is not part of the address
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // With `::`, the groups it stands for are zeros; only the first four groups (the /64) matter here.
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
