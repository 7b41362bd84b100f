import { beforeEach, describe, expect, test } from 'vitest';
import type { DialectName } from '../src/store/handle.ts';
import { importMany } from '../src/store/import.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import type { SubscriberInput } from '../src/store/types.ts';
import { parseCsv, parseEditions } from '../src/subscribers/csv.ts';
import { hashEmail, normaliseEmail } from '../src/subscribers/email.ts';
import { CONFIRM_TOKEN_TTL_MS, recipientLinks, Tokens } from '../src/subscribers/tokens.ts';
import { testConfig } from './helpers.ts';
import { describeEachDb, freshStore as freshDatabase } from './store-db.ts';

let dialect: DialectName = 'sqlite';

/** A subscriber store on a fresh database of the block's dialect. */
async function freshStore(clock?: () => Date) {
  const { store: db } = await freshDatabase(dialect);
  return { db, store: new SubscriberStore(db, clock) };
}

const form = { ip: '192.0.2.1', wording: 'v1-2026-11' };

describeEachDb('SubscriberStore', (d) => {
  beforeEach(() => {
    dialect = d;
  });

  test('addresses are normalised and unique regardless of case', async () => {
    const { store } = await freshStore();
    expect(normaliseEmail('  Ann@Example.COM ')).toBe('ann@example.com');
    expect(hashEmail('ANN@example.com')).toBe(hashEmail('ann@example.com'));
    const a = await store.add({ email: 'Ann@Example.com', editions: ['midweek'] });
    const b = await store.add({ email: 'ann@EXAMPLE.com', editions: ['midweek'] });
    expect(a.result).toBe('added');
    expect(b.result).toBe('unchanged');
    expect((await store.counts()).total).toBe(1);
    expect((await store.findByEmail('ANN@example.com'))!.email).toBe('ann@example.com');
    await expect(store.add({ email: 'not an email', editions: ['midweek'] })).rejects.toThrow(/invalid email address "not an email"/);
  });

  test('pending subscribers never appear in activeBatch; batches page by id', async () => {
    const { store } = await freshStore();
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push((await store.add({ email: `a${i}@example.com`, editions: i % 2 ? ['sunday'] : ['midweek', 'sunday'] })).subscriber!.id);
    const pending = (await store.subscribe({ email: 'pending@example.com', editions: ['midweek', 'sunday'], ...form })).subscriber!;
    expect(pending.status).toBe('pending');
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const batch = await store.activeBatch('sunday', after, 3);
      if (!batch.length) break;
      seen.push(...batch.map((s) => s.id));
      after = batch.at(-1)!.id;
    }
    expect(seen).toEqual(ids);
    expect((await store.activeBatch('midweek', 0, 100)).map((s) => s.id)).toEqual(ids.filter((_, i) => i % 2 === 0));
    expect(await store.countActive('sunday')).toBe(7);
    expect(await store.countActive('midweek')).toBe(4);
    await store.confirm(pending.id);
    expect((await store.activeBatch('midweek', 0, 100)).map((s) => s.id)).toContain(pending.id);
  });

  test('hard-bounced and complained subscribers who subscribe again through the form get a confirmation, stay suppressed until they confirm, and are active once they do', async () => {
    let now = new Date('2026-11-25T10:00:00Z');
    const { store } = await freshStore(() => now);
    const b = (await store.add({ email: 'b@example.com', editions: ['midweek'] })).subscriber!;
    const c = (await store.add({ email: 'c@example.com', editions: ['midweek'] })).subscriber!;
    await store.suppress(b.id, 'bounced', '550 5.1.1 <b@example.com>: no such user');
    await store.suppress(c.id, 'complained', 'abuse report');
    for (const [s, from] of [[b, 'bounced'], [c, 'complained']] as const) {
      const outcome = await store.subscribe({ email: s.email.toUpperCase(), editions: ['midweek', 'sunday'], ...form });
      expect(outcome.sendConfirmation).toBe(true);
      expect(await store.get(s.id)).toMatchObject({ status: 'pending', midweek: true, sunday: true, consent: { source: 'form', confirmedAt: null } });
      // Until the link is confirmed the address stays on the suppression list: no edition, no `add`.
      expect(await store.isSuppressed(s.email)).toBe(true);
      expect((await store.add({ email: s.email, editions: ['sunday'] })).result).toBe('suppressed');
      expect((await store.activeBatch('midweek', 0, 100)).map((r) => r.id)).not.toContain(s.id);
      now = new Date(now.getTime() + 60_000);
      const confirmed = await store.confirm(s.id);
      expect(confirmed).toMatchObject({ status: 'active', softBounces: 0, suppressionLifted: { at: now.toISOString(), by: 'confirmation', from } });
      expect(await store.isSuppressed(s.email)).toBe(false);
    }
    expect((await store.activeBatch('midweek', 0, 100)).map((s) => s.id)).toEqual([b.id, c.id]);
  });

  test('an active subscriber re-subscribing is not downgraded and gets no email', async () => {
    const { store } = await freshStore();
    const s = (await store.add({ email: 'a@example.com', editions: ['sunday'] })).subscriber!;
    expect((await store.subscribe({ email: 'a@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(false);
    expect(await store.get(s.id)).toMatchObject({ status: 'active', midweek: false, sunday: true });
  });

  test('a pending subscriber gets at most one confirmation per five minutes', async () => {
    let now = new Date('2026-11-25T10:00:00Z');
    const { store } = await freshStore(() => now);
    expect((await store.subscribe({ email: 'p@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(true);
    now = new Date('2026-11-25T10:01:00Z');
    expect((await store.subscribe({ email: 'p@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(false);
    now = new Date('2026-11-25T10:07:00Z');
    expect((await store.subscribe({ email: 'p@example.com', editions: ['midweek'], ...form })).sendConfirmation).toBe(true);
    expect((await store.findByEmail('p@example.com'))!.consent.requestedAt).toBe('2026-11-25T10:07:00.000Z');
  });

  test('soft bounces suppress at the limit; a delivery resets the count', async () => {
    const { store } = await freshStore();
    const s = (await store.add({ email: 's@example.com', editions: ['midweek'] })).subscriber!;
    expect(await store.recordSoftBounce(s.id, '452 mailbox full', 3)).toBe(false);
    expect(await store.recordSoftBounce(s.id, '452 mailbox full', 3)).toBe(false);
    await store.resetSoftBounces(s.id);
    expect((await store.get(s.id))!.softBounces).toBe(0);
    await store.recordSoftBounce(s.id, '452', 3);
    await store.recordSoftBounce(s.id, '452', 3);
    expect(await store.recordSoftBounce(s.id, '452 mailbox full', 3)).toBe(true);
    expect((await store.get(s.id))!.status).toBe('bounced');
    expect(await store.isSuppressed('s@example.com')).toBe(true);
  });

  test('an erased subscriber id is never given to anyone else (old links must not reach a new person)', async () => {
    const { store } = await freshStore();
    await store.add({ email: 'one@example.com', editions: ['midweek'] });
    const two = (await store.add({ email: 'two@example.com', editions: ['midweek'] })).subscriber!;
    await store.erase('two@example.com');
    const three = (await store.add({ email: 'three@example.com', editions: ['midweek'] })).subscriber!;
    expect(three.id).toBeGreaterThan(two.id);
  });

  test('unsubscribing one kind keeps the other; the last kind makes the status unsubscribed', async () => {
    const { store } = await freshStore();
    const s = (await store.add({ email: 'u@example.com', editions: ['midweek', 'sunday'] })).subscriber!;
    expect(await store.unsubscribe(s.id, 'sunday')).toMatchObject({ status: 'active', midweek: true, sunday: false });
    expect(await store.unsubscribe(s.id, 'sunday')).toMatchObject({ status: 'active', midweek: true, sunday: false });
    expect(await store.unsubscribe(s.id, 'midweek')).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });
  });
});

describe('Tokens', () => {
  const tokens = new Tokens('a-secret-that-is-long-enough');

  test('tokens round-trip, are bound to purpose and kind, and hold no address', () => {
    const t = tokens.unsubscribe(42, 'sunday');
    expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(tokens.verify(t, 'unsubscribe')).toEqual({ subscriberId: 42, kind: 'sunday' });
    expect(tokens.verify(t, 'preferences')).toBeUndefined();
    expect(tokens.verify(tokens.preferences(42), 'preferences')).toEqual({ subscriberId: 42 });
    expect(tokens.verify(tokens.preferences(42), 'unsubscribe')).toBeUndefined();
    expect(tokens.verify(tokens.confirm(42, ['sunday']), 'confirm')).toEqual({ subscriberId: 42, editions: ['sunday'] });
    const links = recipientLinks('https://a.example', tokens, 42, 'midweek');
    expect(links.unsubscribeUrl).toMatch(/^https:\/\/a\.example\/unsubscribe\/[A-Za-z0-9_-]+$/);
    expect(links.preferencesUrl).toMatch(/^https:\/\/a\.example\/preferences\/[A-Za-z0-9_-]+$/);
  });

  test('every changed character is refused', () => {
    const t = tokens.unsubscribe(7, 'midweek');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < t.length; i++) {
      for (const c of [alphabet[(alphabet.indexOf(t[i]!) + 1) % 64]!, alphabet[(alphabet.indexOf(t[i]!) + 17) % 64]!]) {
        expect(tokens.verify(t.slice(0, i) + c + t.slice(i + 1), 'unsubscribe')).toBeUndefined();
      }
    }
    expect(tokens.verify(t.slice(0, -1), 'unsubscribe')).toBeUndefined();
    expect(tokens.verify(`${t}A`, 'unsubscribe')).toBeUndefined();
    expect(new Tokens('another-secret-long-enough').verify(t, 'unsubscribe')).toBeUndefined();
  });

  test('confirmation tokens expire', () => {
    let now = new Date('2026-11-25T10:00:00Z');
    const timed = new Tokens('a-secret-that-is-long-enough', () => now);
    const t = timed.confirm(5, ['midweek', 'sunday']);
    now = new Date(now.getTime() + CONFIRM_TOKEN_TTL_MS - 1000);
    expect(timed.verify(t, 'confirm')).toEqual({ subscriberId: 5, editions: ['midweek', 'sunday'] });
    now = new Date(now.getTime() + 2000);
    expect(timed.verify(t, 'confirm')).toBeUndefined();
  });
});

describeEachDb('importing many rows', (d) => {
  beforeEach(() => {
    dialect = d;
  });

  test('each row gets the outcome importOne would give, across chunks; ids stay above every id ever used', async () => {
    const { db, store } = await freshStore();
    const held = (await store.add({ email: 'held@example.com', name: 'Held', editions: ['sunday'] })).subscriber!;
    await store.unsubscribe(held.id, 'all');
    const bounced = (await store.add({ email: 'bounced@example.com', editions: ['midweek'] })).subscriber!;
    await store.suppress(bounced.id, 'bounced', '550 5.1.1');
    const erased = (await store.add({ email: 'erased@example.com', editions: ['midweek'] })).subscriber!;
    await store.erase('erased@example.com');
    const rows: SubscriberInput[] = Array.from({ length: 1200 }, (_, i) => ({ email: `Reader${i}@Example.com`, name: ` Reader ${i} `, editions: i % 2 ? ['sunday'] : ['midweek', 'sunday'] }));
    rows.splice(700, 0, { email: 'HELD@example.com', name: 'Other', editions: ['midweek'] }, { email: 'bounced@example.com', name: null, editions: ['sunday'] }, { email: 'erased@example.com', name: null, editions: ['sunday'] });
    const outcomes = await importMany(db, rows);
    expect(outcomes.slice(700, 703)).toEqual(['present', 'suppressed', 'suppressed']);
    expect(outcomes.filter((o) => o === 'added')).toHaveLength(1200);
    expect(await store.get(held.id)).toMatchObject({ status: 'unsubscribed', name: 'Held' }); // an import never re-subscribes
    const first = (await store.findByEmail('reader0@example.com'))!;
    expect(first).toMatchObject({ status: 'active', name: 'Reader 0', midweek: true, sunday: true, consent: { source: 'import', confirmedAt: null } });
    expect(first.id).toBeGreaterThan(erased.id);
    expect((await store.findByEmail('reader1199@example.com'))!.id).toBe(first.id + 1199);
    expect((await store.counts()).byStatus.active).toBe(1200);
    expect(await importMany(db, [{ email: 'reader5@example.com', editions: ['midweek'] }])).toEqual(['present']);
    // The next subscriber of any kind gets a new id after the imported ones.
    expect((await store.add({ email: 'later@example.com', editions: ['midweek'] })).subscriber!.id).toBe(first.id + 1200);
  });
});

describeEachDb('the token secret', (d) => {
  beforeEach(() => {
    dialect = d;
  });

  test('loadSecret uses ALMANAC_SECRET, else generates one once and keeps it', async () => {
    const { db } = await freshStore();
    expect(await loadSecret(db, testConfig({ ALMANAC_SECRET: 'configured-secret-123' }))).toBe('configured-secret-123');
    const first = await loadSecret(db, testConfig());
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(await loadSecret(db, testConfig())).toBe(first);
  });
});

describe('CSV', () => {
  test('quoted fields, doubled quotes, CRLF, a BOM, blank lines and line numbers', () => {
    const text = '\uFEFFemail,name,editions\r\n"a@x.com","Smith, ""Al""","midweek,sunday"\r\n\r\nb@x.com,"two\nlines",sunday\r\nc@x.com,,\r\n';
    const { records, problems } = parseCsv(text);
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['email', 'name', 'editions'] },
      { line: 2, fields: ['a@x.com', 'Smith, "Al"', 'midweek,sunday'] },
      { line: 4, fields: ['b@x.com', 'two\nlines', 'sunday'] },
      { line: 6, fields: ['c@x.com', '', ''] },
    ]);
    expect(parseCsv('email\n"open').problems).toEqual([{ line: 2, reason: 'unterminated quoted field' }]);
  });

  test.each([
    ['', ['midweek', 'sunday']],
    ['both', ['midweek', 'sunday']],
    ['Sunday', ['sunday']],
    ['sunday;midweek', ['midweek', 'sunday']],
    ['midweek, sunday', ['midweek', 'sunday']],
  ])('editions %j', (cell, expected) => {
    expect(parseEditions(cell)).toEqual({ editions: expected });
  });

  test('an unknown edition is named', () => {
    expect(parseEditions('midweek;weekly')).toEqual({ unknown: 'weekly' });
  });
});
