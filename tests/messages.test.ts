import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { memoryLogger } from '../src/log.ts';
import { editionIsEmpty } from '../src/scheduler/run-edition.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { hashEmail } from '../src/subscribers/email.ts';
import { almanac } from './cli.ts';
import { EDITION_DATE, EDITION_ID, address, fixtureContent, seedSubscribers } from './delivery-fixtures.ts';
import { tempDir, testConfig, writeContent } from './helpers.ts';
import { PG_SKIP_REASON, PG_URL, describeEachDb, freshStore, freshTarget, openTracked } from './store-db.ts';

// Messages that say what happened (issue 23, item 13).

test('report --html FILE prints the path it wrote (on stderr with --json, so standard output stays one JSON object)', async () => {
  const dir = tempDir('almanac-report-path-');
  const db = join(dir, 'almanac.db');
  const store = await openStore(db);
  const at = '2026-11-25T07:00:01.000Z';
  await store.db.insertInto('deliveries').values({ edition_id: EDITION_ID, subscriber_id: 1, email: 'x@example.com', state: 'sent', created_at: at, updated_at: at }).execute();
  await store.close();
  const env = { ALMANAC_DB: db };

  const file = join(dir, 'report.html');
  const text = await almanac(['report', EDITION_ID, '--html', file], env);
  expect(text.code, text.stderr).toBe(0);
  expect(text.stdout.endsWith(`wrote the report page ${file}\n`)).toBe(true);
  expect(existsSync(file) && readFileSync(file, 'utf8')).toContain('<html');

  const second = join(dir, 'again.html');
  const json = await almanac(['report', EDITION_ID, '--json', '--html', second], env);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout).counts.sent).toBe(1);
  expect(json.stderr).toBe(`wrote the report page ${second}\n`);
  expect(existsSync(second)).toBe(true);

  const plain = await almanac(['report', EDITION_ID], env);
  expect(plain.stdout).not.toContain('wrote the report page');
});

describeEachDb('the send summary tells "already had it" from "suppressed" (child process, outbox)', (dialect) => {
  test('a run and a re-run name who was left out and why; a re-run never says everyone has it when someone is suppressed', async () => {
    const dir = tempDir('almanac-summary-');
    const target = await freshTarget(dialect);
    const db = await openTracked(target);
    const emails = await seedSubscribers(new SubscriberStore(db), [address(1), address(2), address(3)]);
    // Active, but its address is on the suppression list (a complaint recorded against the address).
    await db.db.insertInto('suppressions').values({ email_hash: hashEmail(emails[1]!), reason: 'complained', created_at: '2026-11-20T00:00:00.000Z' }).execute();
    const env = { ALMANAC_DB: target, ALMANAC_CONTENT_DIR: fixtureContent(), ALMANAC_OUTBOX: join(dir, 'outbox'), ALMANAC_SECRET: 'summary-test-secret-0123456789' };
    const send = ['send', 'midweek', '--date', EDITION_DATE];

    const first = await almanac(send, env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`${EDITION_ID}: sent 2 · bounced 0 · failed 0 · deferred 0 · in doubt 0 · skipped 1 (1 suppressed)\n`);

    const again = await almanac(send, env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${EDITION_ID}: nothing left to send: 2 already had it, 1 suppressed\n`);
    expect(again.stdout).not.toContain('everyone already has');

    const dry = await almanac([...send, '--dry-run'], env);
    expect(dry.stdout).toContain(`dry run: ${EDITION_ID} would go to 0 of 3 active subscribers (left out: 2 already had it, 1 suppressed); nothing was sent or recorded`);

    // Once the address is off the list, the one left is sent to, and then everyone has it.
    await db.db.deleteFrom('suppressions').execute();
    await db.db.deleteFrom('deliveries').where('email', '=', emails[1]!).execute();
    const third = await almanac(send, env);
    expect(third.stdout).toContain(`${EDITION_ID}: sent 1 · bounced 0 · failed 0 · deferred 0 · in doubt 0 · skipped 2 (2 already had it)\n`);
    const fourth = await almanac(send, env);
    expect(fourth.stdout).toContain(`everyone already has ${EDITION_ID}: 3 sent`);
  }, 180_000); // six child processes; PostgreSQL runs are slow on a loaded machine
});

describe('db copy --to names the URL that failed, not ALMANAC_DB', () => {
  test('an unreachable --to: one line naming --to and its URL with the password masked; exit 2', async () => {
    const source = join(tempDir('almanac-copy-to-'), 'almanac.db');
    const result = await almanac(['db', 'copy', '--to', 'postgres://almanac:pw-s3cret-77@127.0.0.1:1/almanac'], { ALMANAC_DB: source });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^almanac db copy: --to: cannot connect to PostgreSQL at postgres:\/\/almanac:\*\*\*@127\.0\.0\.1:1\/almanac: connect ECONNREFUSED[^\n]*\n$/);
    expect(result.stderr).not.toContain('ALMANAC_DB');
    expect(result.stderr + result.stdout).not.toContain('pw-s3cret-77');
  });

  test.skipIf(!PG_URL)(`a --to database that does not exist is named${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, async () => {
    const source = join(tempDir('almanac-copy-to-'), 'almanac.db');
    const url = new URL(PG_URL!);
    url.pathname = '/almanac_no_such_database';
    const result = await almanac(['db', 'copy', '--to', url.toString()], { ALMANAC_DB: source });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`almanac db copy: --to: cannot connect to PostgreSQL at ${url.toString()}: database "almanac_no_such_database" does not exist`);
    expect(result.stderr).not.toContain('ALMANAC_DB');
  });
});

describeEachDb('an empty edition missed by more than the grace period is not reported as stale', (dialect) => {
  test('the scheduler logs it as empty (nothing to send by hand); a missed edition with news still gets the hint', async () => {
    const { store } = await freshStore(dialect);
    // News only in the Midweek window of 2026-11-25: the Sunday edition of 2026-11-22 has none.
    const contentDir = writeContent([{ slug: 'only-story', title: 'The only story', published: '2026-11-23T10:00:00Z', score: 7, topics: ['gpt-4o'] }], [
      { slug: 'gpt-4o', title: 'GPT-4o guide', topics: ['gpt-4o'] },
    ]);
    const config = testConfig({ ALMANAC_CATCHUP_GRACE_HOURS: '6' });
    const now = new Date('2026-11-25T13:01:00Z'); // Midweek 6 h 1 min late; Sunday 2026-11-22 three days late
    const log = memoryLogger();
    const calls: string[] = [];
    const s = new Scheduler({
      config,
      store,
      log,
      clock: () => now,
      run: async (kind, date) => (calls.push(`${kind} ${date}`), { outcome: 'sent', detail: 'ok' }),
      isEmpty: editionIsEmpty(config, contentDir),
    });
    await s.catchUp('start');
    expect(calls).toEqual([]);
    const stale = log.events.filter((e) => e.event === 'schedule.skip-stale');
    expect(stale.map((e) => e.fields.editionId)).toEqual(['2026-11-25-midweek']);
    expect(String(stale[0]!.fields.hint)).toContain('send it by hand with: npm run -s almanac -- send midweek --date 2026-11-25');
    const empty = log.events.filter((e) => e.event === 'schedule.empty');
    expect(empty.map((e) => [e.fields.editionId, e.fields.detail])).toEqual([['2026-11-22-sunday', 'no news in the window; not sent']]);
    expect(s.status().last.sunday).toMatchObject({ edition: '2026-11-22-sunday', outcome: 'empty' });
    await s.catchUp('wake');
    expect(log.events.filter((e) => e.event === 'schedule.empty' || e.event === 'schedule.skip-stale')).toHaveLength(2); // said once each
  });
});
