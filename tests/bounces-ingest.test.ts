import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { MAX_BOUNCE_BYTES } from '../src/bounces/limits.ts';
import { verpTag } from '../src/bounces/verp.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { almanac } from './cli.ts';
import { EDITION_DATE, EDITION_ID, fixtureContent } from './delivery-fixtures.ts';
import { tempDir } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget, openTracked } from './store-db.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BOUNCE = 'bounces@bounces.almanac.example';
const SECRET = 'bounce-ingest-secret-0123456789';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** What each subscriber of the test gets back after the Midweek edition, and how the bounce names the copy. */
const CASES = [
  { who: 'postfix', fixture: 'postfix-user-unknown', match: 'tag', expect: 'bounced' },
  { who: 'genuine', fixture: 'postfix-genuine-local', match: 'tag', expect: 'bounced' },
  // With ALMANAC_BOUNCE_ADDRESS set only a verified tag counts: a bounce without one changes nothing, even with our Message-ID.
  { who: 'gmail', fixture: 'gmail-no-such-user', match: 'message-id', expect: 'active' },
  { who: 'm365', fixture: 'microsoft365-recipient-not-found', match: 'tag', expect: 'bounced' },
  { who: 'yahoo', fixture: 'yahoo-no-account', match: 'tag', expect: 'bounced' },
  { who: 'qmail', fixture: 'qmail-no-mailbox', match: 'message-id', expect: 'active' },
  { who: 'exim', fixture: 'exim-user-unknown', match: 'tag', expect: 'bounced' },
  { who: 'exchange2003', fixture: 'exchange-2003-not-reached', match: 'recipient', expect: 'active' },
  { who: 'complainer', fixture: 'arf-abuse-complaint', match: 'tag', expect: 'complained' },
  { who: 'full', fixture: 'postfix-mailbox-full', match: 'tag', expect: 'active' },
  { who: 'eximfull', fixture: 'exim-mailbox-full', match: 'tag', expect: 'active' },
  { who: 'delayed', fixture: 'postfix-delayed', match: 'tag', expect: 'active' },
  { who: 'vacation', fixture: 'vacation-reply', match: 'tag', expect: 'active' },
  { who: 'ooo', fixture: 'outlook-automatic-reply', match: 'tag', expect: 'active' },
  { who: 'forged', fixture: 'postfix-user-unknown', match: 'forged', expect: 'active' },
] as const;

const email = (who: string) => `${who}@example.org`;

interface Env {
  dir: string;
  db: Store;
  env: Record<string, string>;
  smtp: TestSmtpServer;
}

async function environment(dialect: DialectName, extraEmails: string[] = [], verp = true): Promise<Env> {
  const dir = tempDir('almanac-bounces-');
  const smtp = await startSmtpServer();
  cleanup.push(() => smtp.close());
  const dbPath = await freshTarget(dialect);
  const db = await openTracked(dbPath); // closed (and a PostgreSQL database dropped) after the test
  const subscribers = new SubscriberStore(db);
  for (const address of [...CASES.map((c) => email(c.who)), 'quiet@example.org', ...extraEmails]) await subscribers.add({ email: address, editions: ['midweek', 'sunday'] });
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    ALMANAC_DB: dbPath,
    ALMANAC_CONTENT_DIR: fixtureContent(),
    ALMANAC_BASE_URL: 'https://almanac.example',
    ALMANAC_SECRET: SECRET,
    ...(verp ? { ALMANAC_BOUNCE_ADDRESS: BOUNCE } : {}),
    SMTP_URL: smtp.url,
    SMTP_RETRY_BACKOFF_MS: '20',
  };
  return { dir, db, env, smtp };
}

/** Each copy the relay received: envelope sender, recipient, Message-ID. */
function copies(smtp: TestSmtpServer): Map<string, { from: string; messageId: string }> {
  return new Map(
    smtp.messages.map((m) => [m.to[0]!, { from: m.from, messageId: /^Message-ID: (<[^>]+>)/im.exec(m.raw)![1]! }]),
  );
}

async function statuses(db: Store): Promise<Record<string, { status: string; softBounces: number }>> {
  const rows = await db.db.selectFrom('subscribers').select(['email', 'status', 'soft_bounces']).orderBy('id').execute();
  return Object.fromEntries(rows.map((r) => [r.email, { status: r.status, softBounces: r.soft_bounces }]));
}

async function snapshot(db: Store): Promise<unknown> {
  return {
    subscribers: await db.db.selectFrom('subscribers').selectAll().orderBy('id').execute(),
    deliveries: await db.db.selectFrom('deliveries').selectAll().orderBy('edition_id').orderBy('subscriber_id').execute(),
    suppressions: await db.db.selectFrom('suppressions').select(['email_hash', 'reason']).orderBy('email_hash').execute(),
  };
}

/** Runs `almanac bounces ingest` with a message on standard input. */
function ingestStdin(raw: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['scripts/almanac.mjs', 'bounces', 'ingest'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(raw);
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

describeEachDb('almanac bounces ingest', (dialect) => {
  test('every format changes exactly its subscriber, a second pass changes nothing, and the next edition skips exactly the bounced and complained', async () => {
    const e = await environment(dialect);
    const sent = await almanac(['send', 'midweek', '--date', EDITION_DATE], e.env);
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    const byRecipient = copies(e.smtp);
    // Each copy went out with its own signed envelope sender.
    for (const [to, copy] of byRecipient) expect(copy.from, to).toMatch(/^bounces\+[a-z2-7]{32}@bounces\.almanac\.example$/);
    expect(new Set([...byRecipient.values()].map((c) => c.from)).size).toBe(byRecipient.size);

    const dir = join(e.dir, 'bounces');
    mkdirSync(dir);
    CASES.forEach((c, i) => {
      const copy = byRecipient.get(email(c.who))!;
      const to =
        c.match === 'tag'
          ? copy.from
          : c.match === 'forged'
            ? copy.from.replace(/\+([a-z2-7]{5})/, (_, s: string) => `+${s.startsWith('a') ? 'b' : 'a'}${s.slice(1)}`)
            : BOUNCE; // no tag: nothing else counts
      const messageId = c.match === 'recipient' ? '<not-ours@elsewhere.example>' : copy.messageId;
      writeFileSync(join(dir, `${String(i + 1).padStart(2, '0')}-${c.who}.eml`), bounceFixture(c.fixture, { to, rcpt: email(c.who), messageId }));
    });

    const first = await almanac(['bounces', 'ingest', dir], e.env);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(CASES.length);
    const line = (who: string) => lines.find((l) => l.includes(`-${who}.eml:`))!;
    expect(line('postfix')).toMatch(/changed: hard bounce 5\.1\.1 .*matched by VERP tag.*copy bounced, subscriber bounced: suppressed/);
    for (const who of ['gmail', 'qmail', 'exchange2003']) {
      expect(line(who)).toMatch(/: unverified: .*it carries no VERP tag .*; nothing changed$/);
      expect(line(who)).not.toContain('@');
    }
    expect(line('complainer')).toMatch(/changed: complaint .*copy complained, subscriber complained: suppressed/);
    expect(line('full')).toMatch(/changed: soft bounce 4\.2\.2 .*copy soft_bounced, soft bounce 1 of 5/);
    expect(line('delayed')).toMatch(/ignored: delay warning/);
    expect(line('vacation')).toMatch(/ignored: auto-reply/);
    expect(line('forged')).toMatch(/unverified: .*VERP tag does not verify .*nothing changed/);
    expect(first.stderr).toContain(`${CASES.length} messages: 8 changed, 0 already known, 3 ignored, 4 unverified, 0 not a message`);

    const after = await statuses(e.db);
    for (const c of CASES) expect(after[email(c.who)]!.status, c.who).toBe(c.expect);
    expect(after['quiet@example.org']!.status).toBe('active');
    expect(after[email('full')]!.softBounces).toBe(1);
    expect(after[email('eximfull')]!.softBounces).toBe(1);
    expect(after[email('forged')]!.softBounces).toBe(0);

    // The same bounces again: nothing more changes.
    const before = await snapshot(e.db);
    const second = await almanac(['bounces', 'ingest', dir], e.env);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toMatch(/: changed:/);
    expect(second.stderr).toContain('0 changed, 8 already known, 3 ignored, 4 unverified');
    expect(await snapshot(e.db)).toEqual(before);

    // The report counts late outcomes by state and lists them with status, diagnostic and arrival.
    const report = await almanac(['report', EDITION_ID, '--json', '--failed'], e.env);
    const parsed = JSON.parse(report.stdout) as {
      counts: Record<string, number>;
      late: Record<string, number>;
      problems: { email: string; state: string; late?: { status: string; diagnostic: string; arrivedAt: string } }[];
    };
    expect(parsed.counts).toMatchObject({ sent: 8, bounced: 5, soft_bounced: 2, complained: 1 });
    expect(parsed.late).toEqual({ bounced: 5, soft_bounced: 2, complained: 1, failed: 0 });
    const m365 = parsed.problems.find((p) => p.email === email('m365'))!;
    expect(m365).toMatchObject({ state: 'bounced', late: { status: '5.1.10' } });
    expect(m365.late!.diagnostic).toContain('RESOLVER.ADR.RecipientNotFound');
    expect(Date.parse(m365.late!.arrivedAt)).not.toBeNaN();
    const text = await almanac(['report', EDITION_ID, '--failed'], e.env);
    expect(text.stdout).toMatch(/complained \(suppressed\)/);
    expect(text.stdout).toMatch(new RegExp(`bounced\\s+${email('postfix')}\\s+arrived \\S+ \\(dsn\\)\\s+5\\.1\\.1`));

    // subscribers export keeps the contract: status words and softBounces.
    const exported = JSON.parse((await almanac(['subscribers', 'export', '--format', 'json'], e.env)).stdout) as unknown;
    const list = (Array.isArray(exported) ? exported : (exported as { subscribers: unknown[] }).subscribers) as { email: string; status: string; softBounces: number }[];
    expect(list.find((s) => s.email === email('complainer'))).toMatchObject({ status: 'complained' });
    expect(list.find((s) => s.email === email('full'))).toMatchObject({ status: 'active', softBounces: 1 });

    // The next edition goes to everyone except those bounced or complained.
    const received = e.smtp.messages.length;
    const next = await almanac(['send', 'sunday', '--date', '2026-11-29'], e.env);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    const nextRecipients = e.smtp.messages.slice(received).map((m) => m.to[0]).sort();
    const expected = [...CASES.filter((c) => c.expect === 'active').map((c) => email(c.who)), 'quiet@example.org'].sort();
    expect(nextRecipients).toEqual(expected);
  }, 120_000);

  test('standard input, a message that is not mail, and an unreadable file', async () => {
    const e = await environment(dialect);
    expect((await almanac(['send', 'midweek', '--date', EDITION_DATE], e.env)).code).toBe(0);
    const copy = copies(e.smtp).get(email('postfix'))!;
    const bounce = bounceFixture('postfix-user-unknown', { to: copy.from, rcpt: email('postfix'), messageId: copy.messageId });

    const piped = await ingestStdin(bounce, e.env);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/^stdin: changed: hard bounce 5\.1\.1/);
    expect((await statuses(e.db))[email('postfix')]!.status).toBe('bounced');

    const before = await snapshot(e.db);
    const garbage = await ingestStdin('{"not": "a message"}\n', e.env);
    expect(garbage.code).toBe(1);
    expect(garbage.stdout).toMatch(/^stdin: not a message: does not start with a header field/);
    expect(await snapshot(e.db)).toEqual(before);

    // Over the size limit: not read, a clear line, exit 1, nothing changed.
    const huge = bounce.replace('The week so far in AI.', 'x'.repeat(MAX_BOUNCE_BYTES));
    const tooLarge = await ingestStdin(huge, e.env);
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stdout).toBe(`stdin: too large (${Buffer.byteLength(huge)} bytes; a bounce is at most ${MAX_BOUNCE_BYTES} bytes): skipped, nothing changed\n`);
    const hugeFile = join(e.dir, 'huge.eml');
    writeFileSync(hugeFile, huge);
    const tooLargeFile = await almanac(['bounces', 'ingest', hugeFile], e.env);
    expect(tooLargeFile.code).toBe(1);
    expect(tooLargeFile.stdout).toContain(`huge.eml: too large (${Buffer.byteLength(huge)} bytes; a bounce is at most ${MAX_BOUNCE_BYTES} bytes)`);
    expect(tooLargeFile.stderr).toContain('1 message: 0 changed, 0 already known, 0 ignored, 0 unverified, 0 not a message, 1 too large');
    expect(await snapshot(e.db)).toEqual(before);

    const missing = join(e.dir, 'no-such.eml');
    const read = await almanac(['bounces', 'ingest', missing], e.env);
    expect(read.code).toBe(1);
    expect(read.stderr).toContain(`${missing}: cannot read: ENOENT`);

    // A tag for a copy that was never sent (another edition) changes nothing.
    const other = `bounces+${verpTag(SECRET, '2026-12-02-midweek', 1)}@bounces.almanac.example`;
    const unknown = await ingestStdin(bounceFixture('postfix-user-unknown', { to: other, rcpt: email('gmail'), messageId: '<x@y.example>' }), e.env);
    expect(unknown.code).toBe(0);
    expect(unknown.stdout).toMatch(/ignored: .*names 2026-12-02-midweek for subscriber 1, which is not in the ledger/);
    expect(await snapshot(e.db)).toEqual(before);
  }, 120_000);
});

describeEachDb('a stranger who knows an address cannot suppress it', (dialect) => {
  test.each([
    { verp: false, proof: 'the Message-ID of a copy sent to that address' },
    { verp: true, proof: 'a verified VERP tag (a Message-ID is not enough)' },
  ])('with VERP $verp, mail intake changes a subscriber only with $proof', async ({ verp }) => {
    const e = await environment(dialect, [], verp);
    expect((await almanac(['send', 'midweek', '--date', EDITION_DATE], e.env)).code).toBe(0);
    const byRecipient = copies(e.smtp);
    const forgedId = '<20261125070000.0123456789abcdef@almanac.example>';
    // What anyone who can mail the bounce address may send: the victim's address, no tag, no Message-ID of ours.
    const forged = [
      { who: 'postfix', raw: bounceFixture('postfix-user-unknown', { to: BOUNCE, rcpt: email('postfix'), messageId: forgedId }) },
      { who: 'complainer', raw: bounceFixture('arf-abuse-complaint', { to: BOUNCE, rcpt: email('complainer'), messageId: forgedId }) },
      { who: 'yahoo', raw: bounceFixture('qmail-no-mailbox', { to: BOUNCE, rcpt: email('yahoo'), messageId: forgedId }) },
      { who: 'exchange2003', raw: bounceFixture('exchange-2003-not-reached', { to: BOUNCE, rcpt: email('exchange2003'), messageId: forgedId }) },
      // A subscriber who knows the Message-ID of their own copy, naming someone else.
      { who: 'm365', raw: bounceFixture('gmail-no-such-user', { to: BOUNCE, rcpt: email('m365'), messageId: byRecipient.get('quiet@example.org')!.messageId }) },
    ];
    // Real reports about copies we sent: they quote each copy's own Message-ID (and carry no tag).
    const genuine = [
      { who: 'gmail', raw: bounceFixture('gmail-no-such-user', { to: BOUNCE, rcpt: email('gmail'), messageId: byRecipient.get(email('gmail'))!.messageId }) },
      { who: 'qmail', raw: bounceFixture('qmail-no-mailbox', { to: BOUNCE, rcpt: email('qmail'), messageId: byRecipient.get(email('qmail'))!.messageId }) },
      { who: 'ooo', raw: bounceFixture('arf-abuse-complaint', { to: BOUNCE, rcpt: email('ooo'), messageId: byRecipient.get(email('ooo'))!.messageId }) },
    ];
    const dir = join(e.dir, 'mail');
    mkdirSync(dir);
    for (const [i, m] of [...forged, ...genuine].entries()) writeFileSync(join(dir, `${i}-${m.who}.eml`), m.raw);
    const before = await statuses(e.db);

    const run = await almanac(['bounces', 'ingest', dir], e.env);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const line = (who: string) => lines.find((l) => l.includes(`-${who}.eml:`))!;
    for (const m of forged) {
      expect(line(m.who)).toMatch(/: unverified: .*; nothing changed$/);
      // The log line names nobody (the file name is the test's).
      expect(line(m.who).slice(line(m.who).indexOf(': '))).not.toContain('@');
    }
    const after = await statuses(e.db);
    for (const m of forged) expect(after[email(m.who)], m.who).toEqual(before[email(m.who)]);
    const sentCopies = await e.db.db.selectFrom('deliveries').select(['email', 'state']).execute();
    for (const m of forged) expect(sentCopies.find((c) => c.email === email(m.who))!.state, m.who).toBe('sent');

    if (verp) {
      for (const m of genuine) expect(line(m.who)).toMatch(/: unverified: .*carries no VERP tag/);
      expect(run.stderr).toContain('8 messages: 0 changed, 0 already known, 0 ignored, 8 unverified, 0 not a message');
      expect(await statuses(e.db)).toEqual(before);
    } else {
      expect(line('gmail')).toMatch(/changed: hard bounce .*matched by Message-ID.*subscriber bounced: suppressed/);
      expect(line('qmail')).toMatch(/changed: hard bounce .*matched by Message-ID/);
      expect(line('ooo')).toMatch(/changed: complaint .*matched by Message-ID.*subscriber complained: suppressed/);
      expect(line('m365')).toMatch(/copy sent to another address/);
      expect(run.stderr).toContain('8 messages: 3 changed, 0 already known, 0 ignored, 5 unverified, 0 not a message');
      expect([after[email('gmail')]!.status, after[email('qmail')]!.status, after[email('ooo')]!.status]).toEqual(['bounced', 'bounced', 'complained']);
    }
  }, 120_000);
});
