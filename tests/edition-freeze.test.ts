import { spawn } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { DialectName, Store } from '../src/store/handle.ts';
import { archivedHtml, sentEditions } from '../src/store/editions.ts';
import { appendAudit, claimReview, freezeAtFirstCopy, storedEdition } from '../src/store/stored-editions.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import { memoryLogger } from '../src/log.ts';
import { editionRunner } from '../src/scheduler/run-edition.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import { almanac } from './cli.ts';
import { EDITION_DATE, EDITION_ID, address, fixtureContent, receivedCounts, seedSubscribers } from './delivery-fixtures.ts';
import { editionText, subjectOf, writeEditionFile } from './edition-fixtures.ts';
import { tempDir, testConfig } from './helpers.ts';
import { startSmtpServer, type TestSmtpOptions, type TestSmtpServer } from './smtp.ts';
import { PG_SKIP_REASON, PG_URL, cleanUp, describeEachDb, freshStore, freshTarget, openTracked } from './store-db.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SEND = ['send', 'midweek', '--date', EDITION_DATE];
const servers: TestSmtpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function smtp(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const s = await startSmtpServer(options);
  servers.push(s);
  return s;
}

async function environment(dialect: DialectName, server: TestSmtpServer, subscribers: number, extra: Record<string, string> = {}) {
  const db = dialect === 'sqlite' ? join(tempDir(), 'a.db') : await freshTarget('postgres');
  const store = await openTracked(db);
  const emails = await seedSubscribers(new SubscriberStore(store), Array.from({ length: subscribers }, (_, i) => address(i + 1)));
  const env = {
    ALMANAC_DB: db,
    SMTP_URL: server.url,
    ALMANAC_BASE_URL: 'https://almanac.example',
    ALMANAC_SECRET: 'freeze-test-secret-0123',
    SMTP_RETRY_BACKOFF_MS: '5',
    ...extra,
  };
  return { db, store, emails, env };
}

/** Edits the fixture content: a story's title changes and a new story appears in the window. */
function editContent(dir: string): void {
  const file = join(dir, 'news', 'gpt-update.md');
  writeFileSync(file, readFileSync(file, 'utf8').replace('A model update ships', 'EDITED: a different headline'));
  writeFileSync(
    join(dir, 'news', 'late-story.md'),
    '---\ntitle: A story written after the first copy\nsource: Wire\nurl: https://news.example/late\npublished: 2026-11-24T20:00:00Z\nscore: 9\ntopics: [evals]\n---\nLate.\n',
  );
}

describeEachDb('an edition is frozen at its first copy: every later run sends the stored one', (dialect) => {
  test('a resume after a content edit sends the frozen text, says what changed, and the archive keeps the frozen edition; a late re-run too', async () => {
    // Two recipients are deferred on the first run (one attempt only), so it ends with them left.
    const server = await smtp({ onRcpt: (to, attempt) => ([address(3), address(4)].includes(to) && attempt <= 2 ? { code: 451, message: '4.3.0 Try later' } : 'accept') });
    const e = await environment(dialect, server, 5, { SMTP_RETRY_ATTEMPTS: '1' });
    const content = fixtureContent();
    const first = await almanac([...SEND, '--content', content], e.env);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expect(server.messages).toHaveLength(3);
    const stored = await storedEdition(e.store, EDITION_ID);
    expect(stored).toMatchObject({ state: 'frozen', newsCount: 2 });
    expect(stored!.firstCopyAt).not.toBeNull();

    editContent(content);
    const resumed = await almanac([...SEND, '--content', content], e.env);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const notice = resumed.stdout.split('\n').find((l) => l.includes('the files now compose it differently'));
    expect(notice).toMatch(/^2026-11-25-midweek is frozen \(since its first copy at .*\); the files now compose it differently \(news added: "A story written after the first copy"; .*title changed: "A model update ships" → "EDITED: a different headline"; subject: .*\): sending the stored edition$/);
    expect(server.messages).toHaveLength(5);

    // A late re-run for a subscriber who joined afterwards: the same stored edition.
    await seedSubscribers(new SubscriberStore(e.store), [address(6)]);
    const late = await almanac([...SEND, '--content', content], e.env);
    expect(late.code, late.stdout + late.stderr).toBe(0);
    expect(server.recipients().sort()).toEqual([...e.emails, address(6)].sort());

    const texts = new Set(server.messages.map((m) => editionText(m.raw)));
    expect(texts.size).toBe(1);
    const [text] = [...texts];
    expect(text).toContain('A model update ships');
    expect(text).not.toContain('EDITED');
    expect(text).not.toContain('A story written after the first copy');
    expect(new Set(server.messages.map((m) => subjectOf(m.raw)))).toEqual(new Set(['Almanac Midweek: A model update ships']));

    // The archive and the feed show the stored edition.
    const archive = await archivedHtml(e.store, EDITION_ID);
    expect(archive).toContain('A model update ships');
    expect(archive).not.toContain('EDITED');
    expect((await sentEditions(e.store)).map((x) => x.subject)).toEqual(['Almanac Midweek: A model update ships']);
  });

  test('content made invalid after the first copy: a resume still sends the stored edition and says the files are invalid', async () => {
    const server = await smtp({ onRcpt: (to, attempt) => (to === address(2) && attempt <= 2 ? { code: 451, message: '4.3.0 Later' } : 'accept') });
    const e = await environment(dialect, server, 3, { SMTP_RETRY_ATTEMPTS: '1' });
    const content = fixtureContent();
    expect((await almanac([...SEND, '--content', content], e.env)).code).toBe(1);
    const file = join(content, 'news', 'eval-paper.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('score: 6', 'score: 11'));
    const resumed = await almanac([...SEND, '--content', content], e.env);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/2026-11-25-midweek is frozen .*; the content files are invalid now \(1 problem\(s\)\): sending the stored edition/);
    expect(new Set(server.messages.map((m) => editionText(m.raw))).size).toBe(1);
    expect(server.recipients().sort()).toEqual([...e.emails].sort());
  });

  test('an edition file\'s choices are frozen with the edition: an edit to the letter after the first copy changes nothing sent', async () => {
    const server = await smtp({ onRcpt: (to, attempt) => (to === address(2) && attempt <= 2 ? { code: 451, message: '4.3.0 Later' } : 'accept') });
    const e = await environment(dialect, server, 2, { SMTP_RETRY_ATTEMPTS: '1' });
    const content = fixtureContent();
    writeEditionFile(content, EDITION_ID, 'pin: [eval-paper]', 'The first letter.');
    expect((await almanac([...SEND, '--content', content], e.env)).code).toBe(1);
    writeEditionFile(content, EDITION_ID, 'pin: [eval-paper]', 'A rewritten letter.');
    const resumed = await almanac([...SEND, '--content', content], e.env);
    expect(resumed.stdout).toMatch(/differently \(changed: letter\)/);
    const texts = server.messages.map((m) => editionText(m.raw));
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toContain('The first letter.');
  });
});

describeEachDb('the scheduler sends the stored edition too', (dialect) => {
  test('a retry after a content edit logs one schedule.files-changed line naming the change and sends the frozen text', async () => {
    const server = await smtp({ onRcpt: (to, attempt) => (to === address(2) && attempt <= 2 ? { code: 451, message: '4.3.0 Later' } : 'accept') });
    const e = await environment(dialect, server, 3);
    const config = testConfig({ ...e.env, SMTP_RETRY_ATTEMPTS: '1' });
    const content = fixtureContent();
    const transport = createTransport(config);
    const log = memoryLogger();
    let now = new Date('2026-11-25T07:00:00Z');
    const scheduler = new Scheduler({ config, store: e.store, log, clock: () => now, retryMs: 60_000, run: editionRunner(config, { store: e.store, transport, contentDir: content, log }) });
    try {
      await scheduler.reconcile('midweek', 'fire');
      expect(scheduler.status().last.midweek?.outcome).toBe('partial');
      expect(log.events.filter((ev) => ev.event === 'schedule.files-changed')).toEqual([]);
      editContent(content);
      now = new Date('2026-11-25T07:10:00Z');
      await scheduler.tick();
      expect(scheduler.status().last.midweek?.outcome).toBe('sent');
      const changed = log.events.filter((ev) => ev.event === 'schedule.files-changed');
      expect(changed).toHaveLength(1);
      expect(changed[0]!.fields).toMatchObject({ editionId: EDITION_ID, level: 'warn' });
      expect(changed[0]!.fields.detail).toMatch(/title changed: "A model update ships" → "EDITED: a different headline"/);
      const frozen = await storedEdition(e.store, EDITION_ID);
      expect(log.events.some((ev) => ev.event === 'schedule.run')).toBe(true);
      expect((await e.store.db.selectFrom('edition_audit').select('who').where('action', '=', 'frozen').executeTakeFirstOrThrow()).who).toMatch(/^scheduler on /);
      expect(frozen?.state).toBe('frozen');
      expect(new Set(server.messages.map((m) => editionText(m.raw))).size).toBe(1);
      expect(server.recipients().sort()).toEqual([...e.emails].sort());
    } finally {
      await scheduler.stop();
      await transport.close();
    }
  });
});

/** Starts `almanac` as one child process; resolves with its exit code and output. */
function child(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['scripts/almanac.mjs', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => proc.on('close', (code) => done({ code, stdout, stderr })));
}

describe.skipIf(!PG_URL)(`several hosts on one PostgreSQL${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  afterEach(cleanUp);

  test('two senders whose content directories differ send one edition: every copy has byte-identical edition text', async () => {
    const server = await smtp({ replyDelayMs: 3 });
    const e = await environment('postgres', server, 400, { SMTP_MAX_CONNECTIONS: '2' });
    const a = fixtureContent();
    const b = fixtureContent();
    editContent(b); // host B pulled a change host A has not
    const [ra, rb] = await Promise.all([child([...SEND, '--content', a], e.env), child([...SEND, '--content', b], e.env)]);
    expect(ra.code, ra.stdout + ra.stderr).toBe(0);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    const received = receivedCounts(server.recipients());
    for (const email of e.emails) expect(received.get(email), email).toBe(1);
    const texts = new Set(server.messages.map((m) => editionText(m.raw)));
    expect(texts.size).toBe(1);
    const subjects = new Set(server.messages.map((m) => subjectOf(m.raw)));
    expect(subjects.size).toBe(1);
    // The loser of the freeze says that its files compose the edition differently.
    const noticed = [ra, rb].filter((r) => r.stdout.includes('the files now compose it differently'));
    expect(noticed).toHaveLength(1);
    const [text] = [...texts];
    const winnerIsB = text!.includes('EDITED');
    expect(noticed[0]).toBe(winnerIsB ? ra : rb);
  });
});

describe.skipIf(!PG_URL)(`db copy moves the stored editions, their history and review copies${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  afterEach(cleanUp);

  test('rows are equal on both sides and the history id sequence continues', async () => {
    const { store: source, target } = await freshStore('sqlite');
    const clock = () => new Date('2026-11-24T10:00:00Z');
    await freezeAtFirstCopy(source, { id: EDITION_ID, kind: 'midweek', sendAt: '2026-11-25T07:00:00.000Z', composition: '{"id":"x"}', hash: 'abc', subject: 'S', preheader: 'P', html: '<p>h</p>'.repeat(3000), text: 't', newsCount: 2 }, 'send on test', clock);
    await appendAudit(source.db, { editionId: EDITION_ID, action: 'note', who: 'ada', at: clock().toISOString(), detail: null });
    await claimReview(source, EDITION_ID, 'abc', 'ed@example.com', clock);
    const url = await freshTarget('postgres');
    const copied = await almanac(['db', 'copy', '--to', url], { ALMANAC_DB: target });
    expect(copied.code, copied.stderr).toBe(0);
    expect(copied.stdout).toMatch(/stored_editions +1 rows\n/);
    expect(copied.stdout).toMatch(/edition_audit +2 rows\n/);
    expect(copied.stdout).toMatch(/edition_reviews +1 rows\n/);
    const copy = await openTracked(url);
    const rows = (s: Store) => Promise.all([
      s.db.selectFrom('stored_editions').selectAll().execute(),
      s.db.selectFrom('edition_audit').selectAll().orderBy('id').execute(),
      s.db.selectFrom('edition_reviews').selectAll().execute(),
    ]);
    expect(await rows(copy)).toEqual(await rows(source));
    await appendAudit(copy.db, { editionId: EDITION_ID, action: 'after', who: 'ada', at: clock().toISOString(), detail: null });
    const ids = (await copy.db.selectFrom('edition_audit').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    expect(ids).toEqual([1, 2, 3]);
  });
});
