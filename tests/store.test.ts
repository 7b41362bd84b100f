import { expect, test } from 'vitest';
import { hashEmail } from '../src/subscribers/email.ts';
import { CONFIRMATION_RESEND_MS, ERASED_EMAIL } from '../src/store/types.ts';
import { archivedHtml, editionReport, editionStatus, markEditionSent, sentEditions, upsertEditionRow } from '../src/store/editions.ts';
import { writeExport } from '../src/store/export.ts';
import { AWAITING_REPLY, Ledger, LedgerBatch } from '../src/store/ledger.ts';
import { RecipientFlags } from '../src/store/recipient-flags.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SendLock, SendLockedError } from '../src/store/send-lock.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describeEachDb, freshStore, handles, openTracked } from './store-db.ts';

const run = promisify(execFile);

const form = { ip: '192.0.2.1', wording: 'v1-2026-11' };

function edition(id: string, sendAt = '2026-11-25T07:00:00Z') {
  return {
    edition: { id, kind: 'midweek' as const, number: 3, sendAt: new Date(sendAt), subject: `Subject ${id}`, preheader: 'Pre' },
    archive: { html: `<p>${id}</p>`, text: id },
  };
}

describeEachDb('SubscriberStore (async)', (dialect) => {
  test('add, import, subscribe, confirm, unsubscribe and preferences keep the same rules as the SQLite store', async () => {
    let now = new Date('2026-11-20T10:00:00Z');
    const { store } = await freshStore(dialect);
    const subs = new SubscriberStore(store, () => now);
    const a = await subs.add({ email: ' Ann@Example.com ', name: 'Ann', editions: ['midweek'] });
    expect(a.result).toBe('added');
    expect(a.subscriber).toMatchObject({ email: 'ann@example.com', status: 'active', midweek: true, sunday: false, consent: { source: 'operator' } });
    expect((await subs.add({ email: 'ann@EXAMPLE.com', editions: ['midweek'] })).result).toBe('unchanged');
    expect((await subs.add({ email: 'ann@example.com', editions: ['midweek', 'sunday'] })).result).toBe('updated');
    await expect(subs.add({ email: 'not an email', editions: ['midweek'] })).rejects.toThrow(/invalid email address "not an email"/);
    expect(await subs.importOne({ email: 'bo@example.com', editions: ['sunday'] })).toBe('added');
    expect(await subs.importOne({ email: 'BO@example.com', editions: ['midweek'] })).toBe('present');

    const first = await subs.subscribe({ email: 'cy@example.com', editions: ['midweek', 'sunday'], ...form });
    expect(first.sendConfirmation).toBe(true);
    expect(first.subscriber).toMatchObject({ status: 'pending', consent: { source: 'form', ip: '192.0.2.1', wording: 'v1-2026-11' } });
    now = new Date(now.getTime() + 60_000);
    expect((await subs.subscribe({ email: 'cy@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(false);
    now = new Date(now.getTime() + CONFIRMATION_RESEND_MS);
    expect((await subs.subscribe({ email: 'cy@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(true);
    const confirmed = await subs.confirm(first.subscriber!.id);
    expect(confirmed).toMatchObject({ status: 'active', consent: { confirmedAt: now.toISOString() } });
    expect((await subs.subscribe({ email: 'cy@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(false);

    const ann = a.subscriber!.id;
    expect(await subs.unsubscribe(ann, 'midweek')).toMatchObject({ status: 'active', midweek: false, sunday: true });
    expect(await subs.unsubscribe(ann, 'sunday')).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });
    expect(await subs.setEditions(ann, ['sunday'], form)).toMatchObject({ status: 'active', sunday: true, consent: { source: 'form' } });

    expect(await subs.counts()).toEqual({
      total: 3,
      byStatus: { pending: 0, active: 3, unsubscribed: 0, bounced: 0, complained: 0 },
      byEdition: { midweek: 1, sunday: 2 },
    });
    expect(await subs.countActive('sunday')).toBe(2);
    const page1 = await subs.activeBatch('sunday', 0, 1);
    const page2 = await subs.activeBatch('sunday', page1[0]!.id, 5);
    expect([...page1, ...page2].map((s) => s.email)).toEqual(['ann@example.com', 'bo@example.com']);
    expect((await subs.activeBetween('midweek', 1, 100)).map((s) => s.email)).toEqual(['cy@example.com']);
  });

  test('ids are never reused after erasure, and erasure leaves only a hash', async () => {
    const { store } = await freshStore(dialect);
    const subs = new SubscriberStore(store);
    const one = (await subs.add({ email: 'one@example.com', editions: ['midweek'] })).subscriber!;
    const two = (await subs.add({ email: 'two@example.com', editions: ['midweek'] })).subscriber!;
    const ledger = new Ledger(store, '2026-11-25-midweek');
    await ledger.record({ subscriberId: two.id, state: 'failed', reply: '550 two@example.com unknown', messageId: null }, 'two@example.com');
    const erased = await subs.erase('TWO@example.com');
    expect(erased).toMatchObject({ deliveriesAnonymised: 1, suppressionAdded: true });
    const rows = await store.db.selectFrom('deliveries').selectAll().execute();
    expect(rows).toMatchObject([{ email: ERASED_EMAIL, last_reply: `550 ${ERASED_EMAIL} unknown` }]);
    expect(await store.db.selectFrom('suppressions').select('email_hash').execute()).toEqual([{ email_hash: hashEmail('two@example.com') }]);
    expect(await subs.isSuppressed('two@example.com')).toBe(true);
    expect((await subs.add({ email: 'two@example.com', editions: ['midweek'] })).result).toBe('suppressed');
    const three = (await subs.add({ email: 'three@example.com', editions: ['midweek'] })).subscriber!;
    expect(three.id).toBe(two.id + 1);
    expect(one.id).toBeLessThan(two.id);
  });

  test('soft bounces count up, reset, and suppress at the limit; suppress adds the hash', async () => {
    const { store } = await freshStore(dialect);
    const subs = new SubscriberStore(store);
    const s = (await subs.add({ email: 'soft@example.com', editions: ['midweek'] })).subscriber!;
    expect(await subs.recordSoftBounce(s.id, '452 full', 3)).toBe(false);
    expect(await subs.recordSoftBounce(s.id, '452 full', 3)).toBe(false);
    expect((await subs.get(s.id))!.softBounces).toBe(2);
    expect(await new RecipientFlags(store).softBouncedBetween(1, 100)).toEqual(new Set([s.id]));
    await subs.resetSoftBounces(s.id);
    expect((await subs.get(s.id))!.softBounces).toBe(0);
    for (let i = 0; i < 2; i++) await subs.recordSoftBounce(s.id, '452 full', 3);
    expect(await subs.recordSoftBounce(s.id, '452 full', 3)).toBe(true);
    expect((await subs.get(s.id))!.status).toBe('bounced');
    expect(await new RecipientFlags(store).suppressedAmong(['soft@example.com', 'other@example.com'])).toEqual(new Set(['soft@example.com']));
    const c = (await subs.add({ email: 'c@example.com', editions: ['midweek'] })).subscriber!;
    await subs.suppress(c.id, 'complained', 'abuse report');
    expect(await subs.findByEmail('C@example.com')).toMatchObject({ status: 'complained', lastReply: 'abuse report' });
    expect(await subs.isSuppressed('c@example.com')).toBe(true);
  });

  test('several web servers subscribing the same and different addresses at once: one row each, distinct ids', async () => {
    const { store, target } = await freshStore(dialect);
    const stores = (await handles(dialect, store, target, 4)).map((s) => new SubscriberStore(s));
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => stores[i % 4]!.subscribe({ email: `p${i % 12}@example.com`, editions: ['midweek'], ...form })),
    );
    expect(results.every((r) => r.subscriber?.status === 'pending')).toBe(true);
    const rows = await store.db.selectFrom('subscribers').select(['id', 'email']).execute();
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.id)).size).toBe(12);
  });

  test('export lists every subscriber with consent and delivery history, as CSV and JSON', async () => {
    const { store } = await freshStore(dialect);
    const subs = new SubscriberStore(store);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await subs.add({ email: `e${i}@example.com`, editions: ['midweek'] })).subscriber!.id);
    const ledger = new Ledger(store, '2026-11-25-midweek');
    await ledger.commit(new LedgerBatch().record({ subscriberId: ids[0]!, state: 'sent', reply: '250 ok', messageId: '<m0>' }, 'e0@example.com').record({ subscriberId: ids[2]!, state: 'bounced', reply: '550', messageId: '<m2>' }, 'e2@example.com'));
    let json = '';
    expect(await writeExport(subs, 'json', (c) => (json += c))).toBe(3);
    const parsed = JSON.parse(json) as { subscribers: { email: string; consent: { source: string }; softBounces: number; deliveries: { state: string }[] }[] };
    expect(parsed.subscribers.map((s) => [s.email, s.consent.source, s.softBounces, s.deliveries.map((d) => d.state)])).toEqual([
      ['e0@example.com', 'operator', 0, ['sent']],
      ['e1@example.com', 'operator', 0, []],
      ['e2@example.com', 'operator', 0, ['bounced']],
    ]);
    let csv = '';
    expect(await writeExport(subs, 'csv', (c) => (csv += c), 'E2@example.com')).toBe(1);
    expect(csv.trim().split('\n')).toHaveLength(2);
    expect(csv).toContain('2026-11-25-midweek bounced');
  });
});

describeEachDb('Ledger (async)', (dialect) => {
  test("the send loop's batch (replies, end-of-data marks, next 'sending' rows, soft-bounce resets): one statement on PostgreSQL, one synchronous transaction on SQLite, the same rows", async () => {
    const { store } = await freshStore(dialect);
    const subs = new SubscriberStore(store);
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await subs.add({ email: `b${i}@example.com`, editions: ['midweek'] })).subscriber!.id);
    await subs.recordSoftBounce(ids[0]!, '452', 5);
    const ledger = new Ledger(store, '2026-11-25-midweek', () => new Date('2026-11-25T07:00:00Z'));
    await ledger.commit(new LedgerBatch().markSending(ids[0]!, 'b0@example.com', '<0>').markSending(ids[1]!, 'b1@example.com', '<1>').markSending(ids[2]!, 'b2@example.com', '<2>'));
    // Twice with the same shape, so a cached statement is reused with new values.
    for (const reply of ['250 first', '250 second']) {
      await ledger.commit(
        new LedgerBatch()
          .record({ subscriberId: ids[0]!, state: 'sent', reply, messageId: '<0>' }, 'b0@example.com')
          .resetSoftBounces(ids[0]!)
          .markEndOfData(ids[1]!)
          .markSending(ids[3]!, 'b3@example.com', `<3-${reply}>`),
      );
    }
    const rows = new Map((await store.db.selectFrom('deliveries').selectAll().execute()).map((r) => [r.subscriber_id, r]));
    expect(rows.get(ids[0]!)).toMatchObject({ state: 'sent', last_reply: '250 second', attempts: 1 });
    expect(rows.get(ids[1]!)).toMatchObject({ state: 'in_doubt', last_reply: AWAITING_REPLY });
    expect(rows.get(ids[2]!)).toMatchObject({ state: 'sending', attempts: 1 });
    expect(rows.get(ids[3]!)).toMatchObject({ state: 'sending', attempts: 2, message_id: '<3-250 second>', updated_at: '2026-11-25T07:00:00.000Z' });
    expect((await subs.get(ids[0]!))!.softBounces).toBe(0);
  });

  test('a batch commits in one transaction, in order, with a subscriber repeated in it', async () => {
    const { store } = await freshStore(dialect);
    const subs = new SubscriberStore(store);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await subs.add({ email: `l${i}@example.com`, editions: ['midweek'] })).subscriber!.id);
    await subs.recordSoftBounce(ids[1]!, '452', 5);
    const ledger = new Ledger(store, '2026-11-25-midweek');
    const first = new LedgerBatch();
    ids.forEach((id, i) => first.markSending(id, `l${i}@example.com`, `<m${i}>`));
    await ledger.commit(first);
    expect((await ledger.counts()).sending).toBe(5);

    const second = new LedgerBatch()
      .record({ subscriberId: ids[0]!, state: 'sent', reply: '250 ok', messageId: '<m0>' }, 'l0@example.com')
      .record({ subscriberId: ids[1]!, state: 'sent', reply: '250 ok', messageId: null }, 'l1@example.com')
      .resetSoftBounces(ids[1]!)
      .record({ subscriberId: ids[2]!, state: 'bounced', reply: '550 5.1.1', messageId: '<m2>' }, 'l2@example.com')
      .suppress(ids[2]!, 'bounced', '550 5.1.1')
      .record({ subscriberId: ids[3]!, state: 'deferred', reply: '451', messageId: '<m3>' }, 'l3@example.com')
      .recordSoftBounce(ids[3]!, '451', 1)
      // retried at once: 'deferred' then 'sending' again for the same subscriber in one commit
      .record({ subscriberId: ids[4]!, state: 'deferred', reply: 'connection failed', messageId: '<m4>' }, 'l4@example.com')
      .markSending(ids[4]!, 'l4@example.com', '<m4b>')
      .record({ subscriberId: ids[4]!, state: 'sent', reply: '250 ok', messageId: '<m4b>' }, 'l4@example.com');
    const result = await ledger.commit(second);
    expect(result.suppressedBySoftBounces).toEqual([ids[3]]);
    const rows = new Map((await store.db.selectFrom('deliveries').selectAll().execute()).map((r) => [r.subscriber_id, r]));
    expect(rows.get(ids[0]!)).toMatchObject({ state: 'sent', attempts: 1, message_id: '<m0>' });
    expect(rows.get(ids[1]!)).toMatchObject({ state: 'sent', message_id: '<m1>' }); // a null id keeps the one sent
    expect(rows.get(ids[4]!)).toMatchObject({ state: 'sent', attempts: 2, message_id: '<m4b>' });
    expect((await subs.get(ids[1]!))!.softBounces).toBe(0);
    expect((await subs.get(ids[2]!))!.status).toBe('bounced');
    expect((await subs.get(ids[3]!))!.status).toBe('bounced');
    expect(await ledger.statesBetween(ids[0]!, ids[2]!)).toEqual(new Map([[ids[0]!, 'sent'], [ids[1]!, 'sent'], [ids[2]!, 'bounced']]));
    expect(await ledger.counts()).toEqual({ sending: 0, sent: 3, deferred: 1, failed: 0, bounced: 1, in_doubt: 0, skipped: 0, soft_bounced: 0, complained: 0 });
  });

  test('a failing write rolls back the whole batch', async () => {
    const { store } = await freshStore(dialect);
    const ledger = new Ledger(store, '2026-11-25-midweek');
    const bad = new LedgerBatch()
      .markSending(1, 'a@example.com', '<a>')
      .record({ subscriberId: 2, state: 'nonsense' as 'sent', reply: 'x', messageId: null }, 'b@example.com');
    await expect(ledger.commit(bad)).rejects.toThrow();
    expect(await store.db.selectFrom('deliveries').selectAll().execute()).toEqual([]);
  });

  test('thousands of rows in one commit (split into statements under the bind limits), leftovers, rows()', async () => {
    const { store } = await freshStore(dialect);
    const ledger = new Ledger(store, '2026-11-25-midweek');
    const batch = new LedgerBatch();
    for (let id = 1; id <= 2_600; id++) batch.markSending(id, `r${id}@example.com`, `<${id}>`);
    await ledger.commit(batch);
    const done = new LedgerBatch();
    for (let id = 1; id <= 2_590; id++) done.record({ subscriberId: id, state: 'sent', reply: '250', messageId: null }, `r${id}@example.com`);
    await ledger.commit(done);
    // 2591–2594 had their end-of-data going out (in doubt); 2595–2600 were still 'sending' (resent).
    await ledger.commit(new LedgerBatch().markEndOfData(2_591).markEndOfData(2_592).markEndOfData(2_593).markEndOfData(2_594));
    const ranged = await ledger.takeLeftovers({ fromId: 2_593, toId: 2_597 });
    expect({ resent: ranged.resent.sort(), inDoubt: ranged.inDoubt.sort() }).toEqual({
      resent: [2595, 2596, 2597].map((id) => `r${id}@example.com`),
      inDoubt: [2593, 2594].map((id) => `r${id}@example.com`),
    });
    const rest = await ledger.takeLeftovers();
    expect([rest.resent.length, rest.inDoubt.length]).toEqual([3, 2]);
    const doubt: number[] = [];
    for await (const r of ledger.rows(['in_doubt'])) doubt.push(r.subscriberId);
    expect(doubt).toEqual([2591, 2592, 2593, 2594]);
    const deferred: number[] = [];
    for await (const r of ledger.rows(['deferred'])) deferred.push(r.subscriberId);
    expect(deferred).toEqual([2595, 2596, 2597, 2598, 2599, 2600]);
    let sent = 0;
    for await (const _ of ledger.rows(['sent'])) sent++;
    expect(sent).toBe(2_590);
    const report = await editionReport(store, '2026-11-25-midweek', true);
    expect(report).toMatchObject({ total: 2_600, counts: { sent: 2_590, in_doubt: 4, deferred: 6 }, edition: undefined });
    expect(report!.problems).toHaveLength(10);
    expect(await editionReport(store, '2026-11-29-sunday')).toBeUndefined();
  });
});

describeEachDb('Edition records, archive, send lock and secret (async)', (dialect) => {
  test('an edition row is upserted while sending, kept once sent, and listed in the archive', async () => {
    let now = new Date('2026-11-25T07:00:01Z');
    const { store } = await freshStore(dialect);
    await upsertEditionRow(store, edition('2026-11-25-midweek'), () => now);
    expect(await editionStatus(store, '2026-11-25-midweek')).toBe('sending');
    expect(await sentEditions(store)).toEqual([]);
    now = new Date('2026-11-25T07:10:00Z');
    await markEditionSent(store, '2026-11-25-midweek', () => now);
    const later = edition('2026-11-25-midweek');
    later.archive.html = '<p>rewritten</p>';
    await upsertEditionRow(store, later, () => now);
    expect(await editionStatus(store, '2026-11-25-midweek')).toBe('sent');
    expect(await archivedHtml(store, '2026-11-25-midweek')).toBe('<p>2026-11-25-midweek</p>');
    await upsertEditionRow(store, edition('2026-11-29-sunday', '2026-11-29T08:00:00Z'), () => now);
    await markEditionSent(store, '2026-11-29-sunday', () => now, 'forced');
    expect((await sentEditions(store)).map((e) => [e.id, e.number, e.finishedAt])).toEqual([
      ['2026-11-29-sunday', 3, now.toISOString()],
      ['2026-11-25-midweek', 3, '2026-11-25T07:10:00.000Z'],
    ]);
    expect(await archivedHtml(store, 'nope')).toBeUndefined();
  });

  test('one live send lock per edition; an expired one is taken over; renew fails once taken', async () => {
    let now = new Date('2026-11-25T07:00:00Z');
    const { store, target } = await freshStore(dialect);
    const other = (await handles(dialect, store, target, 2))[1]!;
    const a = new SendLock(store, 'e1', 'elsewhere:1:a', () => now, 1_000);
    const b = new SendLock(other, 'e1', 'elsewhere:2:b', () => now, 1_000);
    const [ra, rb] = await Promise.allSettled([a.acquire(), b.acquire()]);
    expect([ra.status, rb.status].sort()).toEqual(['fulfilled', 'rejected']);
    const [winner, loser] = ra.status === 'fulfilled' ? [a, b] : [b, a];
    expect(((ra.status === 'rejected' ? ra : rb) as PromiseRejectedResult).reason).toBeInstanceOf(SendLockedError);
    expect(await winner.renew()).toBe(true);
    now = new Date(now.getTime() + 1_500);
    expect(await loser.acquire()).toEqual({ tookOverFrom: winner.owner });
    expect(await winner.renew()).toBe(false);
    await loser.release();
    expect(await store.db.selectFrom('send_locks').selectAll().execute()).toEqual([]);
  });

  test('the signing secret is created once when several processes start together', async () => {
    const { target } = await freshStore(dialect, { migrate: false });
    // Separate processes, each opening (and migrating) the store and loading the secret at once.
    const outputs = await Promise.all(Array.from({ length: 4 }, () => run('node_modules/.bin/tsx', ['tests/fixtures/load-secret.ts', target])));
    const secrets = outputs.map((o) => o.stdout.trim());
    const stores = [await openTracked(target)];
    expect(new Set(secrets).size).toBe(1);
    expect(secrets[0]!.length).toBeGreaterThanOrEqual(32);
    expect(await loadSecret(stores[0]!, { secret: 'from-the-environment-123' })).toBe('from-the-environment-123');
    expect(await stores[0]!.db.selectFrom('settings').select('value').where('key', '=', 'token_secret').execute()).toEqual([{ value: secrets[0] }]);
  });
});
