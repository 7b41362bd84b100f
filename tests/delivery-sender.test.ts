import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { afterEach, expect, test } from 'vitest';
import { SendRefusedError, sendEdition, type SendSummary } from '../src/delivery/sender.ts';
import type { DialectName } from '../src/store/handle.ts';
import { AWAITING_REPLY } from '../src/store/ledger.ts';
import { SendLockedError, SendLock } from '../src/store/send-lock.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import { EDITION_ID, address, harness, ledgerStates, receivedCounts, seedSubscribers, type Harness } from './delivery-fixtures.ts';
import { startSmtpServer, type TestSmtpOptions, type TestSmtpServer } from './smtp.ts';
import { PG_URL, describeEachDb } from './store-db.ts';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function withServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const server = await startSmtpServer(options);
  cleanup.push(() => server.close());
  return server;
}

async function setupOn(dialect: DialectName, env: Record<string, string>, subscribers: number): Promise<{ h: Harness; emails: string[] }> {
  const h = await harness(env, dialect);
  cleanup.push(() => h.close());
  const emails = await seedSubscribers(h.subscribers, Array.from({ length: subscribers }, (_, i) => address(i + 1)));
  return { h, emails };
}

function send(h: Harness, extra: Partial<Parameters<typeof sendEdition>[1]> = {}): Promise<SendSummary> {
  return sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered, ...extra });
}

function editionRow(h: Harness): Promise<{ status: string; html: string | null; finished_at: string | null } | undefined> {
  return h.store.db.selectFrom('editions').select(['status', 'html', 'finished_at']).where('id', '=', EDITION_ID).executeTakeFirst();
}

/** Refuses new connections to database `name` and ends the open ones, for `ms`; returns how many were ended. */
async function closeDatabaseFor(name: string, ms: number): Promise<number> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      const { rows } = await client.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await new Promise((r) => setTimeout(r, ms));
      return rows.filter((r: { ok: boolean }) => r.ok).length;
    } finally {
      await client.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
  } finally {
    await client.end();
  }
}

/** One ledger row of an address. */
function delivery(h: Harness, email: string) {
  return h.store.db.selectFrom('deliveries').selectAll().where('edition_id', '=', EDITION_ID).where('email', '=', email).executeTakeFirst();
}

describeEachDb('sending an edition through a real SMTP server', (dialect) => {
  const setup = (env: Record<string, string>, subscribers: number) => setupOn(dialect, env, subscribers);

  test('accepts most, bounces 5.1.1, retries 451 until accepted, leaves a stubborn 421 deferred; recipient by recipient', async () => {
    const gone = new Set([address(3), address(17)]);
    const flaky = new Set([address(5), address(6)]); // 451 twice, then accepted
    const throttled = address(9); // 421 every time
    const policy = address(12); // 554 5.7.1
    let throttling = true;
    const server = await withServer({
      onRcpt: (to, attempt) => {
        if (gone.has(to)) return { code: 550, message: '5.1.1 <' + to + '>: No such user' };
        if (flaky.has(to) && attempt <= 2) return { code: 451, message: '4.3.0 Temporary failure, try later' };
        if (to === throttled && throttling) return { code: 421, message: '4.7.0 Too many messages, slow down' };
        if (to === policy) return { code: 554, message: '5.7.1 Message refused by policy' };
        return 'accept';
      },
    });
    const { h, emails } = await setup({ SMTP_URL: server.url, SMTP_RETRY_ATTEMPTS: '3', SMTP_RETRY_BACKOFF_MS: '10' }, 24);

    const first = await send(h);

    // What the server actually received: every deliverable address exactly once, the rest never.
    const received = receivedCounts(server.recipients());
    for (const email of emails) {
      const expected = gone.has(email) || email === throttled || email === policy ? 0 : 1;
      expect(received.get(email) ?? 0, email).toBe(expected);
    }
    expect(server.rcptAttempts(address(5))).toBe(3);
    // First attempt + 3 retries. smtp-server closes the channel after a 421, as RFC 5321 says; on a
    // loaded machine the client can see the close before the reply, which is a connection failure
    // (deferred and retried too, but not an SMTP reply): then the address is tried once more.
    expect(server.rcptAttempts(throttled)).toBeGreaterThanOrEqual(4);
    expect(server.rcptAttempts(throttled)).toBeLessThanOrEqual(5);

    const states = (await ledgerStates(h.store));
    expect(states[address(1)]).toBe('sent');
    expect(states[address(3)]).toBe('bounced');
    expect(states[address(5)]).toBe('sent');
    expect(states[throttled]).toBe('deferred');
    expect(states[policy]).toBe('failed');
    expect(first).toMatchObject({ total: 24, sent: 20, bounced: 2, failed: 1, deferred: 1, inDoubt: [], skipped: 0, complete: false });
    expect(first.policyRejections).toBe(1);
    expect(h.events.some((e) => e.event === 'policy.rejection' && e.level === 'error')).toBe(true);
    // the attempts and the last reply are in the ledger
    const row = (await delivery(h, address(5)))!;
    expect(row.attempts).toBe(3);
    expect(row.last_reply).toMatch(/^250/);
    // bounced subscribers are suppressed from every future edition
    expect((await h.subscribers.findByEmail(address(3)))!.status).toBe('bounced');
    expect(await h.subscribers.isSuppressed(address(3))).toBe(true);
    // the edition is not 'sent' while someone is deferred
    expect((await editionRow(h))!.status).toBe('sending');
    expect((await editionRow(h))!.html).toContain('<html');

    // Next run: only the deferred recipient is tried again; now the server accepts it.
    throttling = false;
    const before = server.messages.length;
    const second = await send(h);
    expect(server.messages.slice(before).flatMap((m) => m.to)).toEqual([throttled]);
    expect(second).toMatchObject({ total: 22, sent: 1, skipped: 21, deferred: 0, complete: true }); // bounced ones are no longer active
    expect((await editionRow(h))!.status).toBe('sent');

    // A third run finds everyone final and says so.
    const third = await send(h);
    expect(third).toMatchObject({ sent: 0, alreadyComplete: true, complete: true });
    expect(third.ledger.sent).toBe(21);
    expect(server.messages.length).toBe(before + 1);
  });

  test('every received copy has the headers of a list message; Message-IDs are unique', async () => {
    const server = await withServer();
    const { h } = await setup({ SMTP_URL: server.url, ALMANAC_REPLY_TO: 'Editors <editors@almanac.example>' }, 3);
    await send(h);
    expect(server.messages).toHaveLength(3);
    const ids = new Set<string>();
    for (const m of server.messages) {
      const mail = await simpleParser(m.raw);
      const to = m.to[0]!;
      expect(mail.from?.value).toEqual([{ name: 'Call Me Almanac', address: 'newsletter@almanac.example' }]);
      expect(mail.replyTo?.value).toEqual([{ name: 'Editors', address: 'editors@almanac.example' }]);
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]!.address : undefined).toBe(to);
      expect(mail.subject).toBe(h.edition.subject);
      expect(mail.date).toBeInstanceOf(Date);
      expect(Math.abs(mail.date!.getTime() - Date.now())).toBeLessThan(60_000);
      expect(mail.messageId).toMatch(/^<[^@>]+@almanac\.example>$/);
      ids.add(mail.messageId!);
      const list = mail.headers.get('list') as { id: { name: string; id: string }; unsubscribe: { url: string }; 'unsubscribe-post': { name: string } };
      expect(list.id).toEqual({ name: 'Midweek', id: 'midweek.almanac.example' });
      expect(m.raw).toMatch(/^List-Id: Midweek <midweek\.almanac\.example>\r$/m);
      const unsubscribe = list.unsubscribe.url;
      expect(unsubscribe).toMatch(/^https:\/\/almanac\.example\/unsubscribe\/[A-Za-z0-9_-]+$/);
      expect(unsubscribe).not.toContain(to.split('@')[0]!);
      expect(/^List-Unsubscribe: <https:\/\/[^>]+>\r$/m.test(m.raw)).toBe(true); // one https URL, no mailto
      expect(list['unsubscribe-post'].name).toBe('List-Unsubscribe=One-Click');
      expect(m.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
      expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
      const parts = [...m.raw.matchAll(/^Content-Type: (text\/\w+)/gim)].map((x) => x[1]!.toLowerCase());
      expect(parts).toEqual(['text/plain', 'text/html']);
      expect(mail.text).toContain(unsubscribe);
      expect(mail.html).toContain(unsubscribe);
    }
    expect(ids.size).toBe(3);
  });

  test('a connection dropped after the data: that recipient is in doubt, not resent unless resendUnknown', async () => {
    const victim = address(4);
    let dropped = false;
    const server = await withServer({
      onData: (m) => {
        if (m.to[0] === victim && !dropped) {
          dropped = true;
          return 'drop';
        }
        return 'accept';
      },
    });
    const { h, emails } = await setup({ SMTP_URL: server.url }, 10);
    const first = await send(h);
    const said = JSON.stringify({ first, ledger: await ledgerStates(h.store), received: server.recipients() });
    expect(first.inDoubt, said).toEqual([victim]);
    expect(first.sent, said).toBe(9);
    expect((await ledgerStates(h.store))[victim]).toBe('in_doubt');
    expect(first.complete).toBe(true); // in doubt is final until the operator says otherwise

    const again = await send(h);
    expect(again).toMatchObject({ sent: 0, alreadyComplete: true, inDoubt: [victim] });

    const resent = await send(h, { resendUnknown: true });
    expect(resent).toMatchObject({ sent: 1, inDoubt: [] });
    const received = receivedCounts(server.recipients());
    for (const email of emails) expect(received.get(email), email).toBe(email === victim ? 2 : 1);
  });

  test('an outage pause that ends while the replies are committed does not end the run: nobody left out', async () => {
    // A dropped connection pauses sending (SMTP_RETRY_BACKOFF_MS); a 1 ms pause always ends during
    // the commit that records the drop. The loop once took that moment, with nothing in flight and
    // recipients still waiting, for the end of the list: it stopped, called the edition complete and
    // never sent to them.
    const victims = new Set([1, 2, 3, 4, 5].map((i) => address(i))); // the first copy on each of the 5 connections
    const server = await withServer({ onData: (m) => (victims.has(m.to[0]!) ? 'drop' : 'accept') });
    const { h, emails } = await setup({ SMTP_URL: server.url, SMTP_RETRY_BACKOFF_MS: '1', SMTP_MAX_CONNECTIONS: '5' }, 10);
    const first = await send(h);
    const said = JSON.stringify({ first, ledger: await ledgerStates(h.store) });
    expect(first.inDoubt.sort(), said).toEqual([...victims].sort());
    expect(first.sent, said).toBe(5);
    expect(first.complete).toBe(true);
    const received = receivedCounts(server.recipients());
    for (const email of emails) expect(received.get(email), email).toBe(1); // the dropped copies arrived too
  });

  test('server gone mid-run and not back: the run stops with counts and nothing recorded is lost; a later run finishes', async () => {
    let server: TestSmtpServer | undefined;
    server = await startSmtpServer({
      onMessage: () => {
        if (server!.messages.length === 15) void server!.kill();
      },
    });
    const port = server.port;
    const { h, emails } = await setup({ SMTP_URL: server.url, SMTP_RETRY_ATTEMPTS: '2', SMTP_RETRY_BACKOFF_MS: '20', SMTP_MAX_CONNECTIONS: '3' }, 40);
    const first = await send(h);
    expect(first.stopped?.reason).toBe('smtp-unreachable');
    expect(first.complete).toBe(false);
    const states = (await ledgerStates(h.store));
    expect(Object.values(states)).not.toContain('sending');
    const firstReceived = server.recipients();
    // everyone the server got is recorded 'sent' (or in doubt if the reply was lost with the connection)
    for (const email of firstReceived) expect(['sent', 'in_doubt']).toContain(states[email]);
    expect(first.sent).toBe(Object.values(states).filter((s) => s === 'sent').length);
    expect(h.events.some((e) => e.event === 'run.paused')).toBe(true);

    const restarted = await startSmtpServer({ port });
    cleanup.push(() => restarted.close());
    const second = await send(h, { resendUnknown: false });
    expect(second.complete).toBe(true);
    const all = receivedCounts([...firstReceived, ...restarted.recipients()]);
    const inDoubt = new Set(second.inDoubt);
    for (const email of emails) {
      if (inDoubt.has(email)) expect(all.get(email) ?? 0).toBeLessThanOrEqual(1);
      else expect(all.get(email), email).toBe(1);
    }
  });

  test('wrong SMTP credentials: the run stops at once saying so, nobody is marked failed, and a run with the right ones delivers to all', async () => {
    const server = await withServer({ auth: { user: 'news', pass: 'right-password' } });
    const url = (pass: string) => `smtp://news:${pass}@127.0.0.1:${server.port}`;
    const { h, emails } = await setup({ SMTP_URL: url('wrong-password'), SMTP_RETRY_ATTEMPTS: '3', SMTP_RETRY_BACKOFF_MS: '20', SMTP_MAX_CONNECTIONS: '2' }, 12);
    const first = await send(h);
    expect(first.stopped?.reason).toBe('smtp-auth');
    expect(first.stopped?.message).toMatch(/SMTP_URL/);
    expect(first.stopped?.message).toMatch(/535/);
    expect(first.complete).toBe(false);
    expect(first.sent + first.failed + first.bounced).toBe(0);
    expect(Object.values((await ledgerStates(h.store))).every((state) => state === 'deferred')).toBe(true);
    expect(h.events.some((e) => e.event === 'run.paused')).toBe(false); // no retrying a wrong password

    const right = createTransport({ ...h.config, smtp: { ...h.config.smtp, url: url('right-password') } });
    cleanup.push(() => right.close());
    const second = await sendEdition(h.deps({ transport: right }), { edition: h.edition, rendered: h.rendered });
    expect(second.complete).toBe(true);
    expect(server.recipients().sort()).toEqual([...emails].sort());
  });

  test('server down briefly: the run pauses, resumes and delivers to everyone once', async () => {
    let server: TestSmtpServer | undefined;
    const delivered: string[] = [];
    let restarted: TestSmtpServer | undefined;
    server = await startSmtpServer({
      onMessage: (m) => {
        delivered.push(...m.to);
        if (delivered.length === 10) {
          void server!.kill().then(async () => {
            await new Promise((r) => setTimeout(r, 120));
            restarted = await startSmtpServer({ port: server!.port, onMessage: (m2) => delivered.push(...m2.to) });
          });
        }
      },
    });
    cleanup.push(async () => {
      await server!.close();
      await restarted?.close();
    });
    const { h, emails } = await setup({ SMTP_URL: server.url, SMTP_RETRY_ATTEMPTS: '5', SMTP_RETRY_BACKOFF_MS: '100', SMTP_MAX_CONNECTIONS: '2' }, 30);
    const summary = await send(h);
    expect(summary.stopped).toBeUndefined();
    expect(summary.complete).toBe(true);
    const counts = receivedCounts(delivered);
    for (const email of emails) {
      if (summary.inDoubt.includes(email)) continue;
      expect(counts.get(email), email).toBe(1);
    }
    expect(summary.sent + summary.inDoubt.length).toBe(30);
  });

  test.skipIf(dialect === 'sqlite')('PostgreSQL unreachable mid-send: the run pauses, tries the same commit again and delivers to everyone once; nothing recorded is lost', async () => {
    let h!: Harness;
    let outage: Promise<number> | undefined;
    const server = await withServer({
      replyDelayMs: 5,
      onMessage: () => {
        // Every connection to the edition's database is cut and new ones refused for 1.5 s, as in a restart.
        if (server.messages.length === 60) outage = closeDatabaseFor(new URL(h.config.dbPath).pathname.slice(1), 1_500);
      },
    });
    const setupResult = await setup({ SMTP_URL: server.url, SMTP_MAX_CONNECTIONS: '3' }, 200);
    h = setupResult.h;
    const summary = await send(h);
    expect(await outage).toBeGreaterThan(0);
    expect(summary.complete, JSON.stringify(h.events.filter((e) => e.level !== 'debug' && e.level !== 'info'))).toBe(true);
    expect(h.events.some((e) => e.event === 'run.paused' && String(e.reason).startsWith('database unreachable'))).toBe(true);
    expect(h.events.some((e) => e.event === 'run.resumed')).toBe(true);
    const received = receivedCounts(server.recipients());
    for (const email of setupResult.emails) expect(received.get(email), email).toBe(1);
    const states = await ledgerStates(h.store);
    expect(Object.values(states).every((state) => state === 'sent')).toBe(true);
  });

  test('abort (SIGINT/SIGTERM): stops taking recipients, finishes and records those in flight; a re-run completes without duplicates', async () => {
    const controller = new AbortController();
    const server = await withServer({
      replyDelayMs: 5,
      onMessage: () => {
        if (server.messages.length === 12) controller.abort();
      },
    });
    const { h, emails } = await setup({ SMTP_URL: server.url, SMTP_MAX_CONNECTIONS: '3' }, 60);
    const first = await send(h, { signal: controller.signal });
    expect(first.interrupted).toBe(true);
    expect(first.complete).toBe(false);
    const states = (await ledgerStates(h.store));
    expect(Object.values(states)).not.toContain('sending');
    expect(first.sent).toBe(server.messages.length); // every 250 was recorded
    expect(first.sent).toBeLessThanOrEqual(12 + 3);
    expect((await editionRow(h))!.status).toBe('sending');

    const second = await send(h);
    expect(second.complete).toBe(true);
    expect(second.skipped).toBe(first.sent);
    const received = receivedCounts(server.recipients());
    for (const email of emails) expect(received.get(email), email).toBe(1);
    expect((await editionRow(h))!.status).toBe('sent');
  });

  test("after a crash, rows left 'sending' (no end-of-data yet) are sent again; rows whose end-of-data went out stay in doubt and are listed", async () => {
    const server = await withServer();
    const { h, emails } = await setup({ SMTP_URL: server.url }, 8);
    const now = new Date().toISOString();
    const ids = await Promise.all(emails.map(async (e) => (await h.subscribers.findByEmail(e))!.id));
    const row = (i: number, state: 'sent' | 'sending' | 'in_doubt', last_reply: string | null) =>
      ({ edition_id: EDITION_ID, subscriber_id: ids[i]!, email: emails[i]!, state, attempts: 1, last_reply, message_id: null, created_at: now, updated_at: now });
    await h.store.db.insertInto('deliveries').values([row(0, 'sent', '250 ok'), row(1, 'sending', null), row(2, 'in_doubt', AWAITING_REPLY)]).execute();
    const summary = await send(h);
    expect(summary.inDoubt).toEqual([emails[2]]);
    expect(summary).toMatchObject({ sent: 6, skipped: 2 });
    expect(server.recipients().sort()).toEqual([emails[1], ...emails.slice(3)].sort());
    expect(h.events.find((e) => e.event === 'leftovers.resent')).toMatchObject({ count: 1, emails: [emails[1]] });
    expect(h.events.find((e) => e.event === 'leftovers.in_doubt')).toMatchObject({ count: 1, emails: [emails[2]] });
    const reply = (await delivery(h, emails[2]!))!;
    expect(reply.last_reply).toMatch(/stopped after the end of the message data was sent/);
  });

  test('a copy is marked in doubt before its end-of-data goes out, and its reply replaces that', async () => {
    // The server sees the whole message only once the end-of-data arrives; at that moment the ledger
    // must already say the copy may have arrived.
    let h!: Harness;
    let seen: Promise<string | undefined> | undefined;
    const server = await withServer({
      replyDelayMs: 300, // the reply waits until the state was read
      onData: (message) => {
        seen = delivery(h, message.to[0]!).then((row) => row?.state);
        return 'accept';
      },
    });
    const { h: h2, emails: two } = await setup({ SMTP_URL: server.url }, 1);
    h = h2;
    const summary = await send(h2);
    expect(summary.sent).toBe(1);
    expect(await seen).toBe('in_doubt');
    expect((await delivery(h2, two[0]!))?.state).toBe('sent');
  });

  test.skipIf(dialect === 'postgres')('two runs of the same edition at once (SQLite): the second refuses; no one gets two copies', async () => {
    const server = await withServer({ replyDelayMs: 20 });
    const { h, emails } = await setup({ SMTP_URL: server.url }, 20);
    const first = send(h, { lockOwner: 'host-a:1:aaaa' });
    await new Promise((r) => setTimeout(r, 30));
    const second = sendEdition(h.deps({ transport: createTransport(h.config) }), { edition: h.edition, rendered: h.rendered, lockOwner: 'host-b:2:bbbb' });
    await expect(second).rejects.toBeInstanceOf(SendLockedError);
    await expect(second).rejects.toThrow(/another send of 2026-11-25-midweek is running \(owner host-a:1:aaaa/);
    await first;
    const received = receivedCounts(server.recipients());
    for (const email of emails) expect(received.get(email), email).toBe(1);
    // the lease is released at the end
    expect(await h.store.db.selectFrom('send_locks').selectAll().execute()).toEqual([]);
  });

  test.skipIf(dialect === 'postgres')('a stale lease (no heartbeat: the holder was killed) is taken over (SQLite)', async () => {
    const server = await withServer();
    const { h } = await setup({ SMTP_URL: server.url }, 2);
    const past = new Date(Date.now() - 60_000);
    await new SendLock(h.store, EDITION_ID, 'other-host:123:dead', () => past).acquire();
    const summary = await send(h);
    expect(summary.sent).toBe(2);
    expect(h.events.find((e) => e.event === 'lock.takeover')).toMatchObject({ previousOwner: 'other-host:123:dead' });
  });

  test('outbox mode (no SMTP_URL) writes one .eml per recipient', async () => {
    const { h, emails } = await setup({}, 5);
    expect(h.transport.kind).toBe('outbox');
    const summary = await send(h);
    expect(summary.sent).toBe(5);
    const files = readdirSync(join(h.config.outboxDir, EDITION_ID)).filter((f) => f.endsWith('.eml')).sort();
    expect(files).toEqual(emails.map((e, i) => `${String(i + 1).padStart(6, '0')}-${e}.eml`));
  });

  test('dry run renders and counts: no ledger rows, no sends, no edition row', async () => {
    const server = await withServer();
    const { h } = await setup({ SMTP_URL: server.url }, 7);
    const summary = await send(h, { dryRun: true });
    expect(summary).toMatchObject({ dryRun: true, wouldSend: 7, total: 7, sent: 0 });
    expect(server.messages).toHaveLength(0);
    expect(await h.store.db.selectFrom('deliveries').selectAll().execute()).toEqual([]);
    expect(await editionRow(h)).toBeUndefined();
  });

  test('an empty edition, or one failing the pre-send checks, is refused unless forced', async () => {
    const server = await withServer();
    const { h } = await setup({ SMTP_URL: server.url }, 2);
    await expect(sendEdition(h.deps(), { edition: { ...h.edition, empty: true }, rendered: h.rendered })).rejects.toThrow(SendRefusedError);
    const broken = { ...h.rendered, preheader: '' };
    await expect(sendEdition(h.deps(), { edition: h.edition, rendered: broken })).rejects.toThrow(/pre-send checks[\s\S]*preheader is empty/);
    expect(server.messages).toHaveLength(0);
    const forced = await sendEdition(h.deps(), { edition: { ...h.edition, empty: true }, rendered: h.rendered, force: true });
    expect(forced.sent).toBe(2);
  });

  test('consecutive soft bounces across runs suppress a subscriber; a delivery resets the count', async () => {
    const stubborn = address(2);
    const recovering = address(3);
    let recoveringAccepts = false;
    const server = await withServer({
      onRcpt: (to) =>
        to === stubborn || (to === recovering && !recoveringAccepts) ? { code: 452, message: '4.2.2 Mailbox full' } : 'accept',
    });
    const { h } = await setup({ SMTP_URL: server.url, SMTP_RETRY_ATTEMPTS: '1', SMTP_RETRY_BACKOFF_MS: '5', ALMANAC_SOFT_BOUNCE_LIMIT: '2' }, 3);
    const softBounces = async (email: string) => (await h.subscribers.findByEmail(email))!.softBounces;
    const first = await send(h);
    expect(first).toMatchObject({ sent: 1, deferred: 2 });
    expect(await softBounces(stubborn)).toBe(1);
    expect(await softBounces(recovering)).toBe(1);
    recoveringAccepts = true;
    const second = await send(h);
    expect(second).toMatchObject({ sent: 1, deferred: 1 });
    expect(await softBounces(recovering)).toBe(0);
    expect((await h.subscribers.findByEmail(stubborn))!.status).toBe('bounced');
    expect(h.events.some((e) => e.event === 'subscriber.suppressed' && e.email === stubborn)).toBe(true);
  });

  test('the rate limit holds over any rolling second', async () => {
    const server = await withServer();
    const { h } = await setup({ SMTP_URL: server.url, SMTP_RATE_LIMIT: '10' }, 25);
    // The limit applies when a message is handed to SMTP; arrivals at the server can bunch up
    // under load (a delayed batch lands with the next one), so the check is on hand-over times.
    const handedOver: number[] = [];
    const transport = createTransport(h.config);
    cleanup.push(() => transport.close());
    const counted = { kind: transport.kind, close: () => transport.close(), send: (m: Parameters<typeof transport.send>[0]) => (handedOver.push(performance.now()), transport.send(m)) };
    const summary = await sendEdition(h.deps({ transport: counted }), { edition: h.edition, rendered: h.rendered });
    expect(summary.sent, JSON.stringify({ ...summary, events: h.events.filter((e) => e.level !== 'info') })).toBe(25);
    expect(server.recipients()).toHaveLength(25);
    let most = 0;
    for (let i = 0, j = 0; j < handedOver.length; j++) {
      while (handedOver[j]! - handedOver[i]! >= 990) i++;
      most = Math.max(most, j - i + 1);
    }
    expect(most).toBeLessThanOrEqual(10);
    expect(summary.durationMs).toBeGreaterThan(1900);
  });

  test('suppressed addresses are skipped and recorded as skipped', async () => {
    const server = await withServer();
    const { h, emails } = await setup({ SMTP_URL: server.url }, 3);
    await h.store.db
      .insertInto('suppressions')
      .values({ email_hash: (await import('../src/subscribers/email.ts')).hashEmail(emails[1]!), reason: 'complained', created_at: new Date().toISOString() })
      .execute();
    const summary = await send(h);
    expect(summary).toMatchObject({ sent: 2, skipped: 1, complete: true });
    expect(server.recipients()).not.toContain(emails[1]);
    expect((await ledgerStates(h.store))[emails[1]!]).toBe('skipped');
  });
});

