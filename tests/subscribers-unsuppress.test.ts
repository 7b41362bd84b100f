import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTransport } from '../src/delivery/create-transport.ts';
import type { Transport } from '../src/delivery/transport.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { LateLedger } from '../src/store/late.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { hashEmail } from '../src/subscribers/email.ts';
import { createWebServer } from '../src/web/server.ts';
import { almanac } from './cli.ts';
import { testConfig } from './helpers.ts';
import { subscribeByForm } from './web-fixtures.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, describeEachDbShared, freshStore, freshTarget, openTracked } from './store-db.ts';

const form = { ip: '192.0.2.1', wording: 'v1-2026-11' };

/** The suppression list's reason for an address, or undefined. */
async function reasonOf(db: Store, email: string): Promise<string | undefined> {
  return (await db.db.selectFrom('suppressions').select('reason').where('email_hash', '=', hashEmail(email)).executeTakeFirst())?.reason;
}

describeEachDbShared('a bounced or complained subscriber who confirms a new request through the form is active again (real HTTP, real SMTP)', (dialect: DialectName) => {
  let smtp: TestSmtpServer;
  let db: Store;
  let transport: Transport;
  let server: Server;
  let origin: string;
  let store: SubscriberStore;
  let now = new Date('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const config = testConfig({ ALMANAC_BASE_URL: 'https://almanac.test', SMTP_URL: smtp.url, ALMANAC_SECRET: 'test-secret-of-enough-length' });
    db = (await freshStore(dialect)).store;
    transport = createTransport(config);
    server = await createWebServer({ config, store: db, transport, contentDir: '.', clock: () => now, subscribeRateLimit: { limit: 1000, windowMs: 600_000 }, log: () => {} });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    store = new SubscriberStore(db, () => now);
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await transport.close();
    await smtp.close();
  });

  const subscribe = (email: string, editions: string[]) => subscribeByForm({ origin, server, smtp }, email, editions);

  test.each([
    ['bounced', 'hard@example.com', '550 5.1.1 <hard@example.com>: no such user'],
    ['complained', 'spam@example.com', 'abuse report'],
  ] as const)('%s: the form sends a confirmation, the address stays suppressed until the link is opened, then it is active and unsuppressed', async (from, email, reply) => {
    const s = (await store.add({ email, editions: ['midweek'] })).subscriber!;
    await store.suppress(s.id, from, reply);

    const link = await subscribe(email.toUpperCase(), ['midweek', 'sunday']);
    expect(link).toBeDefined();
    expect(await store.get(s.id)).toMatchObject({ status: 'pending', midweek: true, sunday: true });
    expect(await reasonOf(db, email)).toBe(from); // nothing is mailed to it before the confirmation
    expect(await subscribe(email, ['midweek', 'sunday'])).toBeUndefined(); // at most one email per five minutes, as for anyone pending

    now = new Date(now.getTime() + 60_000);
    const confirmed = await fetch(link!);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('You are subscribed');
    expect(await store.get(s.id)).toMatchObject({
      status: 'active',
      midweek: true,
      sunday: true,
      consent: { source: 'form', ip: '127.0.0.1', confirmedAt: now.toISOString() },
      suppressionLifted: { at: now.toISOString(), by: 'confirmation', from },
    });
    expect(await reasonOf(db, email)).toBeUndefined();
    expect((await store.activeBatch('sunday', 0, 100)).map((r) => r.email)).toContain(email);
  });

  test('an erased address still gets no email and stays suppressed', async () => {
    await store.add({ email: 'gone@example.com', editions: ['sunday'] });
    await store.erase('gone@example.com');
    expect(await subscribe('gone@example.com', ['sunday'])).toBeUndefined();
    expect(await store.findByEmail('gone@example.com')).toBeUndefined();
    expect(await reasonOf(db, 'gone@example.com')).toBe('erased');
  });

  test('a bounced subscriber who was erased afterwards (the hash keeps the bounce reason) is never asked again', async () => {
    const s = (await store.add({ email: 'bounced-then-erased@example.com', editions: ['sunday'] })).subscriber!;
    await store.suppress(s.id, 'bounced', '550 5.1.1');
    await store.erase('bounced-then-erased@example.com');
    expect(await subscribe('bounced-then-erased@example.com', ['sunday'])).toBeUndefined();
    expect(await store.findByEmail('bounced-then-erased@example.com')).toBeUndefined();
  });

  test('an unsubscribed person re-subscribing still works as before', async () => {
    const s = (await store.add({ email: 'left@example.com', editions: ['sunday'] })).subscriber!;
    await store.unsubscribe(s.id, 'all');
    const link = await subscribe('left@example.com', ['sunday']);
    expect((await fetch(link!)).status).toBe(200);
    expect(await store.get(s.id)).toMatchObject({ status: 'active', sunday: true, suppressionLifted: null });
  });
});

describeEachDb('almanac subscribers unsuppress and list --emails (child process)', (dialect) => {
  async function setup() {
    const env = { ALMANAC_DB: await freshTarget(dialect), ALMANAC_SECRET: 'cli-test-secret-long-enough' };
    const db = await openTracked(env.ALMANAC_DB); // migrated; closed (and dropped) after the test
    return { env, db, store: new SubscriberStore(db) };
  }

  test('lifts a bounce, a complaint or a soft-bounce suppression by hand and records when; the person is active (or pending if never confirmed) again', async () => {
    const { env, db, store } = await setup();
    const hard = (await store.add({ email: 'hard@example.com', editions: ['midweek', 'sunday'] })).subscriber!;
    const spam = (await store.add({ email: 'spam@example.com', editions: ['sunday'] })).subscriber!;
    const soft = (await store.add({ email: 'soft@example.com', editions: ['midweek'] })).subscriber!;
    const unconfirmed = (await store.subscribe({ email: 'never-confirmed@example.com', editions: ['sunday'], ...form })).subscriber!;
    await store.suppress(hard.id, 'bounced', '550 5.1.1 no such user');
    await store.suppress(spam.id, 'complained', 'abuse report');
    for (let i = 0; i < 3; i++) await store.recordSoftBounce(soft.id, '452 4.2.2 mailbox full', 3);
    await store.suppress(unconfirmed.id, 'bounced', '550 5.1.1'); // its confirmation mail bounced
    expect((await store.get(soft.id))!).toMatchObject({ status: 'bounced', softBounces: 3 });

    const before = Date.now();
    const lifted = await almanac(['subscribers', 'unsuppress', 'Hard@Example.com'], env);
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(lifted.stdout).toMatch(/^lifted the bounce suppression of hard@example\.com \(id \d+\): active again \(editions: midweek, sunday\); recorded at \S+Z\n$/);
    const at = /recorded at (\S+)\n/.exec(lifted.stdout)![1]!;
    expect(Date.parse(at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(at)).toBeLessThanOrEqual(Date.now() + 1000);
    const complaint = await almanac(['subscribers', 'unsuppress', 'spam@example.com'], env);
    expect(complaint.stdout).toContain('lifted the complaint suppression of spam@example.com');
    expect((await almanac(['subscribers', 'unsuppress', 'soft@example.com'], env)).code).toBe(0);
    const pending = await almanac(['subscribers', 'unsuppress', 'never-confirmed@example.com'], env);
    expect(pending.code).toBe(0);
    expect(pending.stdout).toContain('pending: they never confirmed their request, so nothing is sent until they do');

    expect(await store.get(hard.id)).toMatchObject({ status: 'active', midweek: true, sunday: true, suppressionLifted: { at, by: 'operator', from: 'bounced' } });
    expect(await store.get(spam.id)).toMatchObject({ status: 'active', suppressionLifted: { by: 'operator', from: 'complained' } });
    expect(await store.get(soft.id)).toMatchObject({ status: 'active', softBounces: 0, lastReply: '452 4.2.2 mailbox full', suppressionLifted: { by: 'operator', from: 'bounced' } });
    expect(await store.get(unconfirmed.id)).toMatchObject({ status: 'pending', suppressionLifted: { by: 'operator', from: 'bounced' } });
    for (const email of ['hard@example.com', 'spam@example.com', 'soft@example.com', 'never-confirmed@example.com']) expect(await reasonOf(db, email), email).toBeUndefined();
    expect((await store.activeBatch('midweek', 0, 100)).map((s) => s.email)).toEqual(['hard@example.com', 'soft@example.com']);

    // The record is in the export (JSON and CSV), next to the consent record.
    const json = JSON.parse((await almanac(['subscribers', 'export', '--format', 'json', 'hard@example.com'], env)).stdout) as { subscribers: unknown[] };
    expect(json.subscribers[0]).toMatchObject({ status: 'active', softBounces: 0, suppressionLifted: { at, by: 'operator', from: 'bounced' } });
    const csv = (await almanac(['subscribers', 'export', 'hard@example.com'], env)).stdout.split('\r\n');
    expect(csv[0]).toMatch(/,suppression_lifted_at,suppression_lifted_by,suppression_lifted_from$/);
    expect(csv[1]).toMatch(new RegExp(`,${at},operator,bounced$`));

    // Lifted once: again is a clear refusal that changes nothing.
    const again = await almanac(['subscribers', 'unsuppress', 'hard@example.com'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('almanac subscribers: hard@example.com is not suppressed (status active); nothing changed\n');
  });

  test('never revives an unsubscribed or erased person: a clear error, exit 1, nothing changed', async () => {
    const { env, db, store } = await setup();
    const left = (await store.add({ email: 'left@example.com', editions: ['sunday'] })).subscriber!;
    await store.unsubscribe(left.id, 'all');
    // Unsubscribed first, then a late bounce of an earlier copy suppressed them: still an unsubscribed person.
    const leftThenBounced = (await store.add({ email: 'left-bounced@example.com', editions: ['sunday'] })).subscriber!;
    await store.unsubscribe(leftThenBounced.id, 'all');
    await store.suppress(leftThenBounced.id, 'bounced', '550 5.1.1');
    await store.add({ email: 'erased@example.com', editions: ['sunday'] });
    await store.erase('erased@example.com');
    const erasedAfterBounce = (await store.add({ email: 'erased-bounced@example.com', editions: ['sunday'] })).subscriber!;
    await store.suppress(erasedAfterBounce.id, 'bounced', '550 5.1.1');
    await store.erase('erased-bounced@example.com');

    const cases: [string, string][] = [
      ['left@example.com', 'almanac subscribers: left@example.com unsubscribed (status unsubscribed, no edition chosen); unsuppress never revives an unsubscribed person'],
      ['left-bounced@example.com', 'almanac subscribers: left-bounced@example.com unsubscribed (status bounced, no edition chosen); unsuppress never revives an unsubscribed person'],
      ['erased@example.com', 'almanac subscribers: erased@example.com was erased (only a hash of the address is kept); unsuppress never revives an erased person'],
      ['erased-bounced@example.com', 'almanac subscribers: erased-bounced@example.com was erased'],
      ['nobody@example.com', 'almanac subscribers: no subscriber with address nobody@example.com'],
    ];
    for (const [email, message] of cases) {
      const result = await almanac(['subscribers', 'unsuppress', email], env);
      expect(result.code, email).toBe(1);
      expect(result.stderr, email).toContain(message);
      expect(result.stdout, email).toBe('');
    }
    expect(await store.get(left.id)).toMatchObject({ status: 'unsubscribed', suppressionLifted: null });
    expect(await store.get(leftThenBounced.id)).toMatchObject({ status: 'bounced', suppressionLifted: null });
    expect(await reasonOf(db, 'left-bounced@example.com')).toBe('bounced');
    expect(await reasonOf(db, 'erased@example.com')).toBe('erased');
    expect(await reasonOf(db, 'erased-bounced@example.com')).toBe('bounced');
    expect(await store.findByEmail('erased@example.com')).toBeUndefined();

    const usage = await almanac(['subscribers', 'unsuppress'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing EMAIL');
    expect((await almanac(['subscribers', 'unsuppress', 'not-an-address'], env)).code).toBe(2);
  });

  test('list --emails lists every address with its state; list without it still prints the counts', async () => {
    const { env, store } = await setup();
    await store.add({ email: 'ann@example.com', editions: ['midweek', 'sunday'] });
    const bob = (await store.add({ email: 'bob@example.com', editions: ['sunday'] })).subscriber!;
    await store.suppress(bob.id, 'complained', 'abuse report');
    await store.subscribe({ email: 'cat@example.com', editions: ['midweek'], ...form });
    const dan = (await store.add({ email: 'dan@example.com', editions: ['sunday'] })).subscriber!;
    await store.unsubscribe(dan.id, 'all');
    const eve = (await store.add({ email: 'eve@example.com', editions: ['midweek'] })).subscriber!;
    await store.suppress(eve.id, 'bounced', '550 5.1.1');
    await store.subscribe({ email: 'eve@example.com', editions: ['midweek'], ...form }); // asked again: pending until confirmed

    const text = await almanac(['subscribers', 'list', '--emails'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(
      [
        'ann@example.com\tactive\tmidweek,sunday',
        'bob@example.com\tcomplained\tsunday',
        'cat@example.com\tpending\tmidweek',
        'dan@example.com\tunsubscribed\t-',
        'eve@example.com\tpending (bounced: suppressed until confirmed)\tmidweek',
        '',
      ].join('\n'),
    );
    const json = await almanac(['subscribers', 'list', '--emails', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual([
      { email: 'ann@example.com', status: 'active', editions: ['midweek', 'sunday'], suppressed: null },
      { email: 'bob@example.com', status: 'complained', editions: ['sunday'], suppressed: 'complained' },
      { email: 'cat@example.com', status: 'pending', editions: ['midweek'], suppressed: null },
      { email: 'dan@example.com', status: 'unsubscribed', editions: [], suppressed: null },
      { email: 'eve@example.com', status: 'pending', editions: ['midweek'], suppressed: 'bounced' },
    ]);
    const counts = await almanac(['subscribers', 'list'], env);
    expect(counts.stdout).toMatch(/^subscribers: 5\n {2}pending +2\n {2}active +1\n {2}unsubscribed +1\n {2}bounced +0\n {2}complained +1\n/);
  });

  test('list --emails on an empty list prints nothing (JSON: [])', async () => {
    const { env } = await setup();
    const text = await almanac(['subscribers', 'list', '--emails'], env);
    expect([text.code, text.stdout, text.stderr]).toEqual([0, '', 'almanac subscribers: no subscribers\n']);
    expect(JSON.parse((await almanac(['subscribers', 'list', '--emails', '--json'], env)).stdout)).toEqual([]);
  });
});

describeEachDb('a lifted suppression starts a new run of soft bounces', (dialect) => {
  test('late soft bounces of copies sent before the lift do not count toward the limit again', async () => {
    const { store: db } = await freshStore(dialect);
    let now = new Date('2026-11-01T08:00:00Z');
    const store = new SubscriberStore(db, () => now);
    const s = (await store.add({ email: 'full@example.com', editions: ['midweek', 'sunday'] })).subscriber!;
    const copies = ['2026-11-01-sunday', '2026-11-04-midweek', '2026-11-08-sunday', '2026-11-25-midweek'];
    const at = ['2026-11-01T08:00:00.000Z', '2026-11-04T07:00:00.000Z', '2026-11-08T08:00:00.000Z', '2026-11-25T07:00:00.000Z'];
    await db.db
      .insertInto('deliveries')
      .values(copies.map((edition_id, i) => ({ edition_id, subscriber_id: s.id, email: s.email, state: i < 3 ? ('soft_bounced' as const) : ('sent' as const), created_at: at[i]!, updated_at: at[i]! })))
      .execute();
    const late = new LateLedger(db);
    expect(await late.softBounceStreak(s.id, at[2]!, 5)).toBe(3);
    await store.suppress(s.id, 'bounced', '452 mailbox full');
    now = new Date('2026-11-20T12:00:00Z');
    expect(await store.unsuppress(s.email)).toMatchObject({ result: 'lifted', from: 'bounced' });
    // The copy sent after the lift soft-bounces: a run of one, not four.
    await db.db.updateTable('deliveries').set({ state: 'soft_bounced' }).where('edition_id', '=', copies[3]!).execute();
    expect(await late.softBounceStreak(s.id, at[3]!, 5)).toBe(1);
  });
});
