import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { Config } from '../src/config.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import type { Transport } from '../src/delivery/transport.ts';
import { memoryLogger } from '../src/log.ts';
import { approve } from '../src/publish/approve-edition.ts';
import { editionRunner, reviewRunner } from '../src/scheduler/run-edition.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { holdEdition, releaseEdition } from '../src/store/stored-editions.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { startWebServer } from '../src/web/start.ts';
import { EDITION_DATE, EDITION_ID, address, fixtureContent, seedSubscribers } from './delivery-fixtures.ts';
import { editionText, subjectOf, textPart } from './edition-fixtures.ts';
import { tempDir, testConfig } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget, openTracked } from './store-db.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Setup {
  config: Config;
  store: Store;
  server: TestSmtpServer;
  transport: Transport;
  content: string;
  emails: string[];
  log: ReturnType<typeof memoryLogger>;
  clock: { now: Date };
  scheduler(): Scheduler;
}

async function setup(dialect: DialectName, env: Record<string, string>): Promise<Setup> {
  const server = await startSmtpServer();
  closers.push(() => server.close());
  const db = dialect === 'sqlite' ? join(tempDir(), 'a.db') : await freshTarget('postgres');
  const config = testConfig({ ALMANAC_DB: db, SMTP_URL: server.url, ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_SECRET: 'approval-test-secret-01', ...env });
  const store = await openTracked(db);
  const emails = await seedSubscribers(new SubscriberStore(store), [address(1), address(2), address(3)]);
  const transport = createTransport(config);
  closers.push(() => transport.close());
  const content = fixtureContent();
  const log = memoryLogger();
  const clock = { now: new Date('2026-11-25T07:00:00Z') };
  const scheduler = () => {
    const s = new Scheduler({
      config,
      store,
      log,
      clock: () => clock.now,
      run: editionRunner(config, { store, transport, contentDir: content, log }),
      review: config.review.editors.length > 0 ? reviewRunner(config, { store, transport, contentDir: content, clock: () => clock.now }) : undefined,
    });
    closers.push(() => s.stop());
    return s;
  };
  return { config, store, server, transport, content, emails, log, clock, scheduler };
}

const events = (s: Setup, name: string) => s.log.events.filter((e) => e.event === name);
const subscriberCopies = (s: Setup) => s.server.messages.filter((m) => !subjectOf(m.raw).startsWith('[REVIEW]'));

describeEachDb('ALMANAC_APPROVAL=required: the scheduler sends only an approved edition', (dialect) => {
  test('at its time an unapproved edition is held back (log event once, /healthz); approved within the grace it goes out at once, the approved text', async () => {
    const s = await setup(dialect, { ALMANAC_APPROVAL: 'required' });
    const scheduler = s.scheduler();
    const web = await startWebServer(s.config, { port: 0, host: '127.0.0.1', store: s.store, transport: s.transport, contentDir: s.content, health: () => ({ ...scheduler.status() }) });
    closers.push(() => web.close());

    await scheduler.reconcile('midweek', 'fire');
    s.clock.now = new Date('2026-11-25T07:00:30Z');
    await scheduler.tick();
    expect(s.server.messages).toHaveLength(0);
    const waiting = events(s, 'schedule.awaiting-approval');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.fields).toMatchObject({ editionId: EDITION_ID, level: 'warn', graceEndsAt: '2026-11-25T13:00:00.000Z' });
    expect(waiting[0]!.fields.detail).toBe(`not approved (ALMANAC_APPROVAL=required); approve it with: npm run -s almanac -- editions approve midweek --date ${EDITION_DATE}`);
    expect(events(s, 'schedule.run')).toHaveLength(0);
    const health = (await (await fetch(`${web.url}/healthz`)).json()) as { scheduler: { awaitingApproval: Record<string, { edition: string }>; last: Record<string, { outcome: string }> } };
    expect(health.scheduler.awaitingApproval.midweek).toMatchObject({ edition: EDITION_ID, since: '2026-11-25T07:00:00.000Z' });
    expect(health.scheduler.last.midweek?.outcome).toBe('awaiting-approval');

    s.clock.now = new Date('2026-11-25T09:00:00Z');
    const approved = await approve({ config: s.config, store: s.store }, { kind: 'midweek', date: EDITION_DATE, by: 'Ada', contentDir: s.content, clock: () => s.clock.now });
    expect(approved.outcome).toBe('approved');
    s.clock.now = new Date('2026-11-25T09:00:30Z');
    await scheduler.tick(); // the next watchdog tick: at once, not at the next retry interval
    expect(subscriberCopies(s).map((m) => m.to[0]).sort()).toEqual([...s.emails].sort());
    expect(scheduler.status().awaitingApproval).toEqual({});
    expect(scheduler.status().last.midweek?.outcome).toBe('sent');
    expect(events(s, 'schedule.awaiting-approval')).toHaveLength(1);
  });

  test('still unapproved past the catch-up grace: skipped like a stale edition, and an approval after that sends nothing', async () => {
    const s = await setup(dialect, { ALMANAC_APPROVAL: 'required', ALMANAC_CATCHUP_GRACE_HOURS: '2' });
    const scheduler = s.scheduler();
    await scheduler.reconcile('midweek', 'fire');
    expect(scheduler.status().awaitingApproval.midweek?.edition).toBe(EDITION_ID);
    s.clock.now = new Date('2026-11-25T09:00:01Z');
    await scheduler.tick();
    expect(events(s, 'schedule.skip-stale').filter((e) => e.fields.editionId === EDITION_ID)).toHaveLength(1);
    expect(scheduler.status().awaitingApproval).toEqual({});
    await approve({ config: s.config, store: s.store }, { kind: 'midweek', date: EDITION_DATE, by: 'Ada', contentDir: s.content, clock: () => s.clock.now });
    s.clock.now = new Date('2026-11-25T09:10:00Z');
    await scheduler.catchUp('wake');
    expect(s.server.messages).toHaveLength(0);
  });

  test('auto mode: a held edition is not sent at its time either; released within the grace it goes out', async () => {
    const s = await setup(dialect, {});
    await approve({ config: s.config, store: s.store }, { kind: 'midweek', date: EDITION_DATE, by: 'Ada', contentDir: s.content, clock: () => s.clock.now });
    await holdEdition(s.store, EDITION_ID, 'Bob');
    const scheduler = s.scheduler();
    await scheduler.reconcile('midweek', 'fire');
    expect(s.server.messages).toHaveLength(0);
    expect(events(s, 'schedule.awaiting-approval')[0]?.fields.detail).toMatch(/^held \(approved by Ada, then held\); release it with: npm run -s almanac -- editions release 2026-11-25-midweek$/);
    await releaseEdition(s.store, EDITION_ID, 'Bob');
    s.clock.now = new Date('2026-11-25T07:05:00Z');
    await scheduler.tick();
    expect(s.server.recipients().sort()).toEqual([...s.emails].sort());
  });
});

describeEachDb('review copies to ALMANAC_EDITORS', (dialect) => {
  test('ALMANAC_REVIEW_LEAD_HOURS before the send time each editor gets one [REVIEW] copy per edition and composition; two schedulers send it once', async () => {
    const s = await setup(dialect, { ALMANAC_EDITORS: 'ada@editors.example, grace@editors.example', ALMANAC_REVIEW_LEAD_HOURS: '24' });
    const [one, two] = [s.scheduler(), s.scheduler()];
    const reviews = () => s.server.messages.filter((m) => subjectOf(m.raw).startsWith('[REVIEW] '));

    s.clock.now = new Date('2026-11-24T06:59:00Z'); // 24 h and a minute before 2026-11-25 07:00
    await one.tick();
    expect(reviews()).toHaveLength(0);

    s.clock.now = new Date('2026-11-24T07:00:00Z');
    await Promise.all([one.tick(), two.catchUp('start')]);
    await one.tick();
    expect(reviews().map((m) => m.to[0]).sort()).toEqual(['ada@editors.example', 'grace@editors.example']);
    const text = textPart(reviews()[0]!.raw);
    expect(subjectOf(reviews()[0]!.raw)).toBe('[REVIEW] Almanac Midweek: A model update ships');
    expect(text).toMatch(/^REVIEW COPY FOR THE EDITORS: subscribers do not get this note$/m);
    expect(text).toContain('State: draft (not approved yet; it is composed from the files until then)');
    expect(text).toContain('Sends: 2026-11-25 07:00 UTC');
    expect(text).toContain(`Approve it: npm run -s almanac -- editions approve midweek --date ${EDITION_DATE} --by <your name>`);
    expect(text).toContain('Pre-send checks: ok');
    expect(text).toContain('A model update ships');
    expect(text).not.toContain('View in browser');
    expect(events(s, 'schedule.review-sent')).toHaveLength(1);
    expect(subscriberCopies(s)).toHaveLength(0);

    // Approved: the frozen composition is a new one; each editor gets it once more, then never again.
    s.clock.now = new Date('2026-11-24T12:00:00Z');
    await approve({ config: s.config, store: s.store }, { kind: 'midweek', date: EDITION_DATE, by: 'Ada', contentDir: s.content, clock: () => s.clock.now });
    await Promise.all([one.tick(), two.tick()]);
    await one.tick();
    expect(reviews()).toHaveLength(4);
    expect(textPart(reviews()[3]!.raw)).toContain('State: approved by Ada at 2026-11-24T12:00:00.000Z');
    expect(textPart(reviews()[3]!.raw)).toContain(`Hold it: npm run -s almanac -- editions hold ${EDITION_ID}`);

    // At the send time subscribers get the approved edition, without the review note.
    s.clock.now = new Date('2026-11-25T07:00:00Z');
    await one.reconcile('midweek', 'fire');
    const copies = subscriberCopies(s);
    expect(copies).toHaveLength(3);
    expect(editionText(copies[0]!.raw)).not.toContain('REVIEW');
    const history = await s.store.db.selectFrom('edition_audit').select(['action']).where('edition_id', '=', EDITION_ID).orderBy('id').execute();
    expect(history.map((h) => h.action)).toEqual(['review', 'approved', 'review']);
  });
});

test('ALMANAC_APPROVAL, ALMANAC_EDITORS and ALMANAC_REVIEW_LEAD_HOURS: defaults, parsing and one-line errors naming the variable', () => {
  expect(testConfig().review).toEqual({ approval: 'auto', editors: [], leadMs: 24 * 3_600_000 });
  expect(testConfig({ ALMANAC_APPROVAL: 'required', ALMANAC_EDITORS: 'Ada@Editors.example grace@editors.example,', ALMANAC_REVIEW_LEAD_HOURS: '6.5' }).review).toEqual({
    approval: 'required',
    editors: ['ada@editors.example', 'grace@editors.example'],
    leadMs: 6.5 * 3_600_000,
  });
  expect(() => testConfig({ ALMANAC_APPROVAL: 'always' })).toThrow(/^ALMANAC_APPROVAL: expected auto .* or required .*, found "always"$/);
  expect(() => testConfig({ ALMANAC_EDITORS: 'ada@editors.example, not-an-address' })).toThrow(/^ALMANAC_EDITORS: expected email addresses/);
  expect(() => testConfig({ ALMANAC_REVIEW_LEAD_HOURS: '-1' })).toThrow(/^ALMANAC_REVIEW_LEAD_HOURS: expected a number of hours/);
});
