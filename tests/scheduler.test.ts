import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
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
    // A fixed now (ALMANAC_NOW, the CLI's test hook): a Saturday evening in Paris, a week before clocks go back.
    const { code, stdout } = await almanac(['schedule', '--next', '--json'], { ALMANAC_TIMEZONE: 'Europe/Paris', ALMANAC_NOW: '2026-10-17T20:00:00Z' });
    expect(code).toBe(0);
    const next = JSON.parse(stdout);
    expect(next.midweek.local).toMatch(/07:00/);
    expect(next.sunday.local).toMatch(/08:00/);
    expect(next.midweek.utc).toBe('2026-10-21T05:00:00.000Z');
    expect(next.sunday.utc).toBe('2026-10-18T06:00:00.000Z');
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

  describe('several schedulers on one database fire each edition once', () => {
    /** A scheduler whose runner waits until the test lets it finish, with the result the test gives. */
    function heldScheduler(options: { fireLeaseMs?: number } = {}) {
      const log = memoryLogger();
      const runs: { date: string; finish: (r: RunResult) => void }[] = [];
      const s = new Scheduler({
        config,
        store,
        log,
        clock: () => now,
        fireHeartbeatMs: 3_600_000, // renewals are driven by the test's clock, not by timers
        ...options,
        run: (kind, date) => {
          calls.push({ kind, date });
          return new Promise<RunResult>((resolve) => runs.push({ date, finish: resolve }));
        },
      });
      return { s, log, runs };
    }
    const events = (log: ReturnType<typeof memoryLogger>, name: string) => log.events.filter((e) => e.event === name);

    test('at the instant one scheduler runs the edition; the other logs who does and does not send', async () => {
      now = new Date('2026-11-25T07:00:00Z');
      const a = heldScheduler();
      const b = heldScheduler();
      const running = a.s.reconcile('midweek', 'fire');
      await vi.waitFor(() => expect(a.runs).toHaveLength(1));
      await b.s.reconcile('midweek', 'fire');
      await b.s.tick();
      expect(calls).toEqual([{ kind: 'midweek', date: '2026-11-25' }]);
      const elsewhere = events(b.log, 'schedule.elsewhere');
      expect(elsewhere).toHaveLength(1); // said once, not on every tick
      expect(elsewhere[0]!.fields).toMatchObject({ editionId: '2026-11-25-midweek', running: true });
      expect(String(elsewhere[0]!.fields.owner)).toMatch(/:\d+:[0-9a-f]{8}$/);
      expect(b.s.status().last.midweek).toMatchObject({ outcome: 'elsewhere', detail: expect.stringMatching(/^being sent by /) });

      await markSent('2026-11-25-midweek');
      a.runs[0]!.finish({ outcome: 'sent', detail: 'ok' });
      await running;
      await b.s.tick();
      expect(calls).toHaveLength(1);
      expect(events(a.log, 'schedule.run')).toHaveLength(1);
      expect(events(b.log, 'schedule.run')).toHaveLength(0);
    });

    test('an unfinished edition is retried once per retry interval by whichever scheduler asks first', async () => {
      now = new Date('2026-11-25T07:00:00Z');
      const a = heldScheduler();
      const b = heldScheduler();
      const first = a.s.reconcile('midweek', 'fire');
      await vi.waitFor(() => expect(a.runs).toHaveLength(1));
      a.runs[0]!.finish({ outcome: 'partial', detail: '3 deferred' });
      await first;
      await b.s.reconcile('midweek', 'fire'); // the partial attempt just ended: not again before the retry interval
      expect(calls).toHaveLength(1);
      expect(events(b.log, 'schedule.elsewhere')[0]!.fields).toMatchObject({ running: false, nextAttemptAt: '2026-11-25T07:05:00.000Z' });

      now = new Date('2026-11-25T07:05:00Z');
      const retry = b.s.tick();
      await vi.waitFor(() => expect(b.runs).toHaveLength(1));
      expect(events(b.log, 'schedule.run')[0]!.fields).toMatchObject({ attempt: 2 });
      await a.s.tick(); // b holds it now
      expect(calls).toHaveLength(2);
      b.runs[0]!.finish({ outcome: 'partial', detail: '1 deferred' });
      await retry;
    });

    test('a scheduler that stops renewing (its host died) is taken over after the lease', async () => {
      now = new Date('2026-11-25T07:00:00Z');
      const a = heldScheduler({ fireLeaseMs: 30_000 });
      const b = heldScheduler({ fireLeaseMs: 30_000 });
      void a.s.reconcile('midweek', 'fire'); // never finishes: the host is gone
      await vi.waitFor(() => expect(a.runs).toHaveLength(1));
      now = new Date('2026-11-25T07:00:29Z');
      await b.s.reconcile('midweek', 'fire');
      expect(calls).toHaveLength(1);
      now = new Date('2026-11-25T07:00:31Z');
      const takeover = b.s.tick();
      await vi.waitFor(() => expect(b.runs).toHaveLength(1));
      const run = events(b.log, 'schedule.run')[0]!.fields;
      expect(run.tookOverFrom).toBe(events(b.log, 'schedule.elsewhere')[0]!.fields.owner);
      b.runs[0]!.finish({ outcome: 'sent', detail: 'ok' });
      await takeover;
    });

    test('a fire held by a process that no longer exists on this host is taken over at once (a restart)', async () => {
      now = new Date('2026-11-25T07:00:00Z');
      const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']).stdout.toString().trim(); // a pid that has exited
      await store.db
        .insertInto('schedule_fires')
        .values({ edition_id: '2026-11-25-midweek', owner: `${hostname()}:${gone}:abcdef01`, running: 1, fired_at: now.toISOString(), expires_at: '2026-11-25T07:00:30.000Z', attempts: 1 })
        .execute();
      const b = heldScheduler();
      const run = b.s.reconcile('midweek', 'start');
      await vi.waitFor(() => expect(b.runs).toHaveLength(1));
      expect(events(b.log, 'schedule.run')[0]!.fields).toMatchObject({ attempt: 2, tookOverFrom: expect.stringContaining(`:${gone}:`) });
      b.runs[0]!.finish({ outcome: 'sent', detail: 'ok' });
      await run;
    });
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
