import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Kind } from '../src/config.ts';
import type { Store } from '../src/store/handle.ts';
import { describeEachDb, freshStore } from './store-db.ts';
import { memoryLogger } from '../src/log.ts';
import { Scheduler, type RunResult } from '../src/scheduler/scheduler.ts';
import { nextInstants } from '../src/editions/calendar.ts';
import { almanac } from './cli.ts';
import { testConfig } from './helpers.ts';

describe('next send instants', () => {
  const ny = testConfig({ ALMANAC_TIMEZONE: 'America/New_York' });

  test.each([
    // now, next Midweek (UTC), next Sunday (UTC)
    ['2026-03-05T00:00:00Z', '2026-03-11T11:00:00.000Z', '2026-03-08T12:00:00.000Z'], // spring forward on Sunday 8 March
    ['2026-03-01T12:59:00Z', '2026-03-04T12:00:00.000Z', '2026-03-01T13:00:00.000Z'], // still EST
    ['2026-10-30T00:00:00Z', '2026-11-04T12:00:00.000Z', '2026-11-01T13:00:00.000Z'], // fall back on Sunday 1 November
    ['2026-10-28T11:00:00Z', '2026-11-04T12:00:00.000Z', '2026-11-01T13:00:00.000Z'], // exactly at Midweek 07:00 EDT: next week
  ])('in America/New_York at %s', (now, midweek, sunday) => {
    const next = nextInstants(ny, new Date(now));
    expect(next.midweek!.utc).toBe(midweek);
    expect(next.sunday!.utc).toBe(sunday);
  });

  test('a zone without daylight saving keeps the same UTC hour all year', () => {
    const kolkata = testConfig({ ALMANAC_TIMEZONE: 'Asia/Kolkata' });
    expect(nextInstants(kolkata, new Date('2026-03-05T00:00:00Z')).sunday!.utc).toBe('2026-03-08T02:30:00.000Z');
    expect(nextInstants(kolkata, new Date('2026-10-30T00:00:00Z')).sunday!.utc).toBe('2026-11-01T02:30:00.000Z');
  });

  test('schedule --next prints local and UTC instants and exits', async () => {
    const { code, stdout } = await almanac(['schedule', '--next', '--json'], { ALMANAC_TIMEZONE: 'Europe/Paris' });
    expect(code).toBe(0);
    const next = JSON.parse(stdout);
    expect(next.midweek.local).toMatch(/07:00/);
    expect(next.sunday.local).toMatch(/08:00/);
    expect(new Date(next.sunday.utc).getUTCDay()).toBe(0);
  });
});

describeEachDb('catch-up and firing (fake runner, real database)', (dialect) => {
  let store: Store;
  let calls: { kind: Kind; date: string }[];
  let now: Date;
  const config = testConfig({ ALMANAC_CATCHUP_GRACE_HOURS: '6' });

  function scheduler(result: RunResult = { outcome: 'sent', detail: 'ok' }) {
    const log = memoryLogger();
    const s = new Scheduler({
      config,
      store,
      log,
      clock: () => now,
      run: async (kind, date) => {
        calls.push({ kind, date });
        if (result.outcome === 'sent') await markSent(`${date}-${kind}`);
        return result;
      },
    });
    return { s, log };
  }

  async function markSent(id: string) {
    await store.db
      .insertInto('editions')
      .values({ id, kind: id.endsWith('sunday') ? 'sunday' : 'midweek', number: 1, send_at: '', subject: '', preheader: '', html: null, text: null, status: 'sent', started_at: '', finished_at: null, note: null })
      .onConflict((oc) => oc.column('id').doUpdateSet({ status: 'sent' }))
      .execute();
  }

  beforeEach(async () => {
    ({ store } = await freshStore(dialect)); // closed (and dropped) after each test
    calls = [];
  });

  test('an edition missed by less than the grace period is sent late, once', async () => {
    now = new Date('2026-11-25T12:00:00Z'); // Midweek was due at 07:00, 5 h ago
    const { s } = scheduler();
    await s.catchUp('start');
    await s.catchUp('start');
    expect(calls).toEqual([{ kind: 'midweek', date: '2026-11-25' }]);
  });

  test('an edition older than the grace period is skipped with a clear log line', async () => {
    now = new Date('2026-11-25T13:01:00Z'); // 6 h 1 min late
    const { s, log } = scheduler();
    await s.catchUp('start');
    expect(calls).toEqual([]);
    const skip = log.events.filter((e) => e.event === 'schedule.skip-stale');
    expect(skip.map((e) => e.fields.editionId).sort()).toEqual(['2026-11-22-sunday', '2026-11-25-midweek']);
    expect(String(skip[0]!.fields.hint)).toMatch(/almanac -- send/);
  });

  test('an edition already fully sent is never sent again', async () => {
    now = new Date('2026-11-25T08:00:00Z');
    await markSent('2026-11-25-midweek');
    const { s } = scheduler();
    await s.catchUp('start');
    expect(calls).toEqual([]);
  });

  test('invalid content: nothing is sent, the error is logged and reported, and a later attempt tries again', async () => {
    now = new Date('2026-11-25T07:00:00Z');
    const { s, log } = scheduler({ outcome: 'invalid-content', detail: '1 problem', problems: ['content/news/x.md: score: …'] });
    await s.catchUp('start');
    expect(s.status().error).toMatch(/2026-11-25-midweek: invalid-content/);
    expect(log.events.find((e) => e.event === 'schedule.invalid-content')?.fields.problems).toEqual(['content/news/x.md: score: …']);
    now = new Date('2026-11-25T07:06:00Z');
    await s.tick();
    expect(calls).toHaveLength(2);
  });

  test('a wake from a long pause catches up', async () => {
    now = new Date('2026-11-25T06:00:00Z');
    const { s } = scheduler();
    await s.catchUp('start');
    expect(calls).toEqual([]);
    now = new Date('2026-11-25T09:00:00Z'); // the machine slept through 07:00
    await s.tick();
    expect(calls).toEqual([{ kind: 'midweek', date: '2026-11-25' }]);
  });

  describe('node-cron fires at the send instant in the configured zone', () => {
    afterEach(() => vi.useRealTimers());

    // Timing only (the database part is the cases above): fake timers cannot wait for PostgreSQL's real I/O.
    test.skipIf(dialect === 'postgres')('Sunday 08:00 in New York on the day clocks go back fires at 13:00 UTC', async () => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2026-11-01T12:59:00Z'));
      const ny = testConfig({ ALMANAC_TIMEZONE: 'America/New_York' });
      const fired: string[] = [];
      const s = new Scheduler({
        config: ny,
        store,
        log: memoryLogger(),
        run: async (kind, date) => {
          fired.push(`${date}-${kind}@${new Date().toISOString()}`);
          return { outcome: 'sent', detail: '' };
        },
      });
      await s.start();
      expect(fired).toEqual([]); // the previous Sunday is far outside the grace period
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatch(/^2026-11-01-sunday@2026-11-01T13:00:0/);
      await s.stop();
    });
  });
});
