import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createTransport } from '../src/delivery/create-transport.ts';
import { memoryLogger } from '../src/log.ts';
import { editionRunner } from '../src/scheduler/run-edition.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import type { DialectName } from '../src/store/handle.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { address, fixtureContent, seedSubscribers } from './delivery-fixtures.ts';
import { tempDir, testConfig, writeContent } from './helpers.ts';
import { startSmtpServer, type TestSmtpOptions, type TestSmtpServer } from './smtp.ts';
import { cleanUp, describeEachDb, freshTarget, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';

const children: ChildProcess[] = [];
const servers: TestSmtpServer[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const server of servers.splice(0)) await server.close();
});

function counts(recipients: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of recipients) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh database: a temp SQLite file, or a new PostgreSQL database (dropped after the test). */
async function dbTarget(dialect: DialectName): Promise<string> {
  return dialect === 'sqlite' ? join(tempDir(), 'a.db') : freshTarget('postgres');
}

describeEachDb('a scheduler fire runs the real send path (injected clock, real SMTP, real database)', (dialect) => {
  test('sends the due edition to every active subscriber exactly once, and never again', async () => {
    const smtp = await startSmtpServer();
    servers.push(smtp);
    const config = testConfig({ ALMANAC_DB: await dbTarget(dialect), SMTP_URL: smtp.url, ALMANAC_BASE_URL: 'https://almanac.example' });
    const store = await openTracked(config.dbPath);
    const subscribers = new SubscriberStore(store);
    const emails = await seedSubscribers(subscribers, Array.from({ length: 25 }, (_, i) => address(i + 1)));
    await subscribers.subscribe({ email: 'pending@example.org', editions: ['midweek'], ip: '127.0.0.1', wording: 'v1' });
    const transport = createTransport(config);
    const log = memoryLogger();
    let now = new Date('2026-11-25T07:00:00Z');
    const scheduler = new Scheduler({ config, store, log, clock: () => now, run: editionRunner(config, { store, transport, contentDir: fixtureContent(), log }) });

    await scheduler.reconcile('midweek', 'fire');
    now = new Date('2026-11-25T07:10:00Z');
    await scheduler.catchUp('wake'); // already fully sent: nothing more
    await transport.close();

    expect(smtp.recipients().sort()).toEqual([...emails].sort());
    expect(scheduler.status().last.midweek?.outcome).toBe('sent');
    expect(log.events.filter((e) => e.event === 'schedule.run')).toHaveLength(1);
  });
});

describe('the scheduler logs what publishing came to (the same events as when it called the send command)', () => {
  test('a fire logs run, the send events and the outcome with the summary as one detail line; empty and invalid content are their own outcomes', async () => {
    const smtp = await startSmtpServer();
    servers.push(smtp);
    const dir = tempDir();
    const config = testConfig({ ALMANAC_DB: join(dir, 'a.db'), SMTP_URL: smtp.url, ALMANAC_BASE_URL: 'https://almanac.example' });
    const store = await openStore(config.dbPath);
    await seedSubscribers(new SubscriberStore(store), [address(1), address(2), address(3)]);
    const transport = createTransport(config);
    const log = memoryLogger();
    let now = new Date('2026-11-25T07:00:00Z');
    let contentDir = fixtureContent();
    const scheduler = new Scheduler({ config, store, log, clock: () => now, run: (kind, date, signal) => editionRunner(config, { store, transport, contentDir, log })(kind, date, signal) });
    try {
      await scheduler.reconcile('midweek', 'fire');
      const names = log.events.map((e) => e.event).filter((e) => !e.startsWith('schedule.next'));
      expect(names).toEqual(['schedule.run', 'send.run.start', 'send.run.done', 'schedule.sent']);
      const sent = log.events.find((e) => e.event === 'schedule.sent')!;
      expect(sent.fields.detail).toMatch(/^2026-11-25-midweek: sent 3 · bounced 0 · failed 0 · deferred 0 · in doubt 0 · skipped 0 \| 3 active subscribers · [\d.]+ s · [\d,]+ msg\/s · ledger: 3 sent in total$/);
      expect(log.events.find((e) => e.event === 'send.run.done')?.fields).toMatchObject({ editionId: '2026-11-25-midweek', sent: 3, level: 'info' });

      // An edition with no news in its window: logged as empty, nothing sent.
      log.events.length = 0;
      now = new Date('2027-03-03T07:00:00Z');
      await scheduler.reconcile('midweek', 'fire');
      expect(log.events.find((e) => e.event === 'schedule.empty')?.fields.detail).toBe('no news in the window; not sent');

      // Invalid content: the problems are in the log, nothing is sent.
      log.events.length = 0;
      contentDir = writeContent([{ slug: 'bad', title: 'Bad', published: '2027-03-09T06:00:00Z', score: 11, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
      now = new Date('2027-03-10T07:00:00Z');
      await scheduler.reconcile('midweek', 'fire');
      const invalid = log.events.find((e) => e.event === 'schedule.invalid-content');
      expect(invalid?.fields.detail).toBe('1 content problem(s); nothing was sent');
      expect(invalid?.fields.problems).toEqual([expect.stringMatching(/bad\.md: score/)]);
      expect(smtp.recipients()).toHaveLength(3);
    } finally {
      await transport.close();
      await store.close();
    }
  });
});

/** A content dir and schedule that make an edition due one minute ago, whatever today's date is. */
function dueNow(): { env: Record<string, string>; contentDir: string } {
  const now = new Date();
  const due = new Date(now.getTime() - 60_000);
  const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][due.getUTCDay()]!;
  const at = `${day} ${String(due.getUTCHours()).padStart(2, '0')}:${String(due.getUTCMinutes()).padStart(2, '0')}`;
  const published = new Date(due.getTime() - 3_600_000).toISOString();
  const contentDir = writeContent([{ slug: 'fresh', title: 'Fresh news', published, score: 7, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
  // The Sunday edition goes out on the following day, so it is never due during the test and its
  // previous instant (six days ago) opens the Midweek window well before the news.
  const sundayDay = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(due.getUTCDay() + 1) % 7]!;
  return {
    env: { ALMANAC_TIMEZONE: 'UTC', ALMANAC_MIDWEEK_AT: at, ALMANAC_SUNDAY_AT: `${sundayDay} 12:00`, ALMANAC_CATCHUP_GRACE_HOURS: '1' },
    contentDir,
  };
}

function startScheduler(env: Record<string, string>, command: 'schedule' | 'start' = 'schedule'): ChildProcess {
  // Node itself (not npm): a signal must reach the scheduler, not a parent that leaves it orphaned.
  // `start` is what `npm start` runs (node scripts/almanac.mjs start).
  const child = spawn(process.execPath, ['scripts/almanac.mjs', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    log += String(c);
  });
  (child as ChildProcess & { log: () => string }).log = () => log;
  children.push(child);
  return child;
}

async function ledger(dbPath: string): Promise<{ email: string; state: string }[]> {
  const store = await openStore(dbPath);
  try {
    return await store.db.selectFrom('deliveries').select(['email', 'state']).execute();
  } finally {
    await store.close();
  }
}

/** A real SMTP server, a database with `subscribers` active readers, and the environment of a scheduler process for them. */
async function processSetup(subscribers: number, replyDelayMs: number, dialect: DialectName, smtpOptions: TestSmtpOptions = {}) {
  const smtp = await startSmtpServer({ replyDelayMs, ...smtpOptions });
  servers.push(smtp);
  const dbPath = await dbTarget(dialect);
  const { env, contentDir } = dueNow();
  const store = await openStore(dbPath);
  const emails = await seedSubscribers(new SubscriberStore(store), Array.from({ length: subscribers }, (_, i) => address(i + 1)));
  await store.close();
  const childEnv = { ...env, ALMANAC_DB: dbPath, SMTP_URL: smtp.url, ALMANAC_CONTENT_DIR: contentDir, SMTP_MAX_CONNECTIONS: '2' };
  return { smtp, dbPath, emails, childEnv };
}

describeEachDb('scheduler processes on one database (child processes, real SMTP)', (dialect) => {
  test('two schedulers started together: the edition fires once, each subscriber gets one copy', async () => {
    const { smtp, emails, childEnv } = await processSetup(60, 5, dialect);
    const a = startScheduler(childEnv);
    const b = startScheduler(childEnv);
    await until(() => smtp.recipients().length >= emails.length, 60_000, 'every subscriber to receive the edition');
    await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    const received = counts(smtp.recipients());
    expect([...received.keys()].sort()).toEqual([...emails].sort());
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    // The edition fired once: one scheduler ran it; the other found it running or already sent.
    const logs = [a, b].map((child) => (child as ChildProcess & { log: () => string }).log());
    const runs = logs.map((log) => log.match(/"event":"schedule\.run"/g)?.length ?? 0);
    expect(runs.sort()).toEqual([0, 1]);
  });

  test('a scheduler killed mid-send and restarted resumes: everyone not in doubt gets exactly one copy; in-doubt rows are not resent', async () => {
    // Messages whose end-of-data the server has and whose reply it still holds back: their rows are in doubt.
    let awaitingReply = 0;
    const { smtp, dbPath, emails, childEnv } = await processSetup(80, 40, dialect, {
      onData: () => {
        awaitingReply++;
        return 'accept';
      },
      onMessage: () => awaitingReply--,
    });

    const first = startScheduler(childEnv);
    // Kill while a reply is held back, so at least one copy is certainly in doubt (not merely 'sending').
    await until(() => smtp.recipients().length >= 15 && awaitingReply > 0, 60_000, 'the first scheduler to be mid-send');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const beforeRestart = smtp.recipients().length;
    expect(beforeRestart).toBeLessThan(emails.length);

    const second = startScheduler(childEnv);
    const secondLog = () => (second as ChildProcess & { log: () => string }).log();
    await until(() => secondLog().includes('"event":"schedule.sent"'), 60_000, 'the restarted scheduler to finish');
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));

    // Everyone not in doubt received it exactly once; rows left 'sending' by the kill are in doubt
    // (their copy may or may not have arrived) and are not resent.
    const received = counts(smtp.recipients());
    const inDoubt = new Set((await ledger(dbPath)).filter((r) => r.state === 'in_doubt').map((r) => r.email));
    for (const email of emails) {
      if (!inDoubt.has(email)) expect(received.get(email), email).toBe(1);
    }
    expect(secondLog()).toMatch(/"event":"send.leftovers.in_doubt"/);
    expect(inDoubt.size).toBeLessThanOrEqual(2);
  });

  test('SIGTERM mid-send: in-flight messages finish and are recorded, nothing is left sending, exit 0', async () => {
    const { smtp, dbPath, emails, childEnv } = await processSetup(80, 60, dialect);
    const child = startScheduler(childEnv);
    await until(() => smtp.recipients().length >= 10, 60_000, 'the scheduler to be mid-send');
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    const rows = await ledger(dbPath);
    expect(rows.filter((r) => r.state === 'sending' || r.state === 'in_doubt')).toEqual([]);
    const sent = rows.filter((r) => r.state === 'sent').map((r) => r.email).sort();
    expect(sent).toEqual([...new Set(smtp.recipients())].sort());
    expect(sent.length).toBeLessThan(emails.length);
    expect((child as ChildProcess & { log: () => string }).log()).toMatch(/"event":"service.stopped"/);
  });
});

describe.skipIf(!PG_URL)(`the "Several machines" recipe: two npm start on one PostgreSQL${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  afterEach(cleanUp);

  test('both serve the web and schedule; the edition fires once, everyone gets one copy, and a link from it works through the other host', async () => {
    const { smtp, dbPath, emails, childEnv } = await processSetup(40, 5, 'postgres');
    const env = { ...childEnv, PORT: '0', ALMANAC_HOST: '127.0.0.1', ALMANAC_BASE_URL: 'https://almanac.test' };
    const hosts = [startScheduler(env, 'start'), startScheduler(env, 'start')];
    const logOf = (child: ChildProcess) => (child as ChildProcess & { log: () => string }).log();
    const origins: string[] = [];
    for (const child of hosts) {
      await until(() => /"event":"web\.listening"/.test(logOf(child)), 60_000, 'the web server to listen');
      origins.push(/"event":"web\.listening","url":"(http:\/\/[^"]+)"/.exec(logOf(child))![1]!);
    }
    await until(() => smtp.recipients().length >= emails.length, 60_000, 'every subscriber to receive the edition');
    await until(() => hosts.some((child) => logOf(child).includes('"event":"schedule.sent"')), 60_000, 'the edition to be recorded as sent');

    const received = counts(smtp.recipients());
    expect([...received.keys()].sort()).toEqual([...emails].sort());
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(hosts.map((child) => logOf(child).match(/"event":"schedule\.run"/g)?.length ?? 0).sort()).toEqual([0, 1]);

    // The one-click unsubscribe of a copy, through whichever host the balancer picks.
    const runner = hosts.findIndex((child) => logOf(child).includes('"event":"schedule.run"'));
    const other = origins[1 - runner]!;
    const message = smtp.messages.find((m) => m.to.includes(emails[0]!))!;
    const unsubscribe = /^List-Unsubscribe: <([^>]+)>/m.exec(message.raw.toString().replace(/\r\n\s+/g, ' '))![1]!;
    const oneClick = await fetch(`${other}${new URL(unsubscribe).pathname}`, { method: 'POST', body: new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }) });
    expect(oneClick.status).toBe(200);
    await oneClick.text();
    for (const origin of origins) {
      const health = (await (await fetch(`${origin}/healthz`)).json()) as { ok: boolean; db: string; scheduler: { running: boolean } };
      expect(health).toMatchObject({ ok: true, db: 'ok', scheduler: { running: true } });
    }
    const store = await openTracked(dbPath);
    expect(await new SubscriberStore(store).findByEmail(emails[0]!)).toMatchObject({ midweek: false }); // the edition's kind only

    const exits = hosts.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of hosts) child.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
  });
});
