import { describe, expect, test } from 'vitest';
import { rateLimitKey, SlidingWindowLimiter } from '../src/web/rate-limit.ts';

describe('subscribe rate limiter', () => {
  test('at most `limit` requests per key in any window; refused requests do not count', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(3, 1000, () => new Date(now));
    for (const t of [0, 100, 200]) {
      now = t;
      expect(limiter.hit('a').allowed).toBe(true);
    }
    now = 500;
    expect(limiter.hit('a')).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(limiter.hit('b').allowed).toBe(true);
    now = 1000;
    expect(limiter.hit('a').allowed).toBe(true); // the request at 0 left the window
    expect(limiter.hit('a').allowed).toBe(false);
  });

  test('memory stays bounded with many clients, and the limit still holds for the ones seen recently', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(2, 60_000, () => new Date(now), 10_000);
    for (let i = 0; i < 50_000; i++) {
      now = i; // all within one window: none has expired
      limiter.hit(`client-${i}`);
      expect(limiter.size).toBeLessThanOrEqual(10_000);
    }
    expect(limiter.size).toBe(10_000);
    // The most recent clients are still counted.
    expect(limiter.hit('client-49999').allowed).toBe(true);
    expect(limiter.hit('client-49999').allowed).toBe(false);
  });

  test('clients whose window has passed are forgotten without waiting for the bound', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(5, 1000, () => new Date(now), 100_000);
    for (let i = 0; i < 20_000; i++) limiter.hit(`old-${i}`);
    expect(limiter.size).toBe(20_000);
    now = 5000;
    limiter.hit('new');
    expect(limiter.size).toBe(1);
  });

  test('a client that keeps coming back is not forgotten ahead of idle ones', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(3, 60_000, () => new Date(now), 3);
    limiter.hit('busy');
    limiter.hit('busy');
    now = 10;
    limiter.hit('idle-1');
    limiter.hit('idle-2');
    now = 20;
    limiter.hit('busy'); // its third: now the most recent
    now = 30;
    limiter.hit('idle-3'); // over the bound: idle-1, idle the longest, goes
    expect(limiter.hit('busy').allowed).toBe(false);
  });
});

describe('rate limit key', () => {
  test.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2::5', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('%s → %s', (address, key) => {
    expect(rateLimitKey(address)).toBe(key);
  });
});
