import { describe, expect, test } from 'vitest';
import { RateLimiter, type LimiterClock } from '../src/delivery/rate-limit.ts';

/** A fake clock: sleeping advances time instantly. */
function fakeClock(): LimiterClock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

/** The most grants found in any window [t, t + 1000) over the grant times. */
function maxInAnyWindow(times: number[], windowMs = 1000): number {
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

describe('rolling-window rate limiter', () => {
  test.each([1, 3, 10, 50])('never more than %i grants in any rolling 1-second window', async (rate) => {
    const clock = fakeClock();
    const limiter = new RateLimiter(rate, clock);
    const times: number[] = [];
    // Back-to-back demand: exactly `rate` per rolling second, no faster and no slower.
    for (let i = 0; i < rate * 6; i++) {
      await limiter.acquire();
      times.push(clock.t);
    }
    expect(maxInAnyWindow(times)).toBe(rate);
    expect(times.at(-1)! - times[0]!).toBe(5000);
    // Irregular arrivals (pauses, then bursts) are limited the same way.
    const irregular: number[] = [];
    for (let i = 0; i < rate * 6; i++) {
      clock.t += (i * 37) % 450;
      await limiter.acquire();
      irregular.push(clock.t);
    }
    expect(maxInAnyWindow(irregular)).toBeLessThanOrEqual(rate);
  });

  test('a burst at the end of one second and the start of the next is still limited', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(5, clock);
    clock.t = 900;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await limiter.acquire();
      times.push(clock.t);
    }
    clock.t = 1001; // a fixed window would reset here and allow 5 more at once
    for (let i = 0; i < 5; i++) {
      await limiter.acquire();
      times.push(clock.t);
    }
    expect(maxInAnyWindow(times)).toBe(5);
    expect(times.slice(5).every((t) => t >= 1900)).toBe(true);
  });

  test('concurrent callers share the slots', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(4, clock);
    const times: number[] = [];
    await Promise.all(Array.from({ length: 12 }, () => limiter.acquire().then(() => times.push(clock.t))));
    expect(times).toHaveLength(12);
    expect(maxInAnyWindow(times.sort((a, b) => a - b))).toBeLessThanOrEqual(4);
  });

  test('tryAcquire never waits and reports when the next slot frees', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(2, clock);
    expect(limiter.tryAcquire()).toBe(true);
    clock.t = 300;
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    expect(limiter.nextFreeIn()).toBe(700);
    clock.t = 1000;
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    expect(limiter.nextFreeIn()).toBe(300);
  });

  test('a fractional rate stretches the window (0.5/s = one every 2 s)', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(0.5, clock);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      await limiter.acquire();
      times.push(clock.t);
    }
    expect(times).toEqual([0, 2000, 4000]);
  });

  test('rate 0 is unlimited', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(0, clock);
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(clock.t).toBe(0);
    expect(limiter.tryAcquire()).toBe(true);
  });

  test('a negative or non-finite rate is refused with what was expected', () => {
    expect(() => new RateLimiter(-1)).toThrow('Expected rate limit to be a finite number >= 0, got -1');
    expect(() => new RateLimiter(Number.NaN)).toThrow(/got NaN/);
  });
});
