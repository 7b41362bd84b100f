import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openDb } from '../src/db.ts';
import { parseCsv, parseEditions } from '../src/subscribers/csv.ts';
import { hashEmail, normaliseEmail } from '../src/subscribers/email.ts';
import { SubscriberStore } from '../src/subscribers/store.ts';
import { CONFIRM_TOKEN_TTL_MS, loadSecret, recipientLinks, Tokens } from '../src/subscribers/tokens.ts';
import { tempDir, testConfig } from './helpers.ts';

function freshStore(clock?: () => Date) {
  const db = openDb(join(tempDir(), 'almanac.db'));
  return { db, store: new SubscriberStore(db, clock) };
}

const form = { ip: '192.0.2.1', wording: 'v1-2026-11' };

describe('SubscriberStore', () => {
  test('addresses are normalised and unique regardless of case', () => {
    const { store } = freshStore();
    expect(normaliseEmail('  Ann@Example.COM ')).toBe('ann@example.com');
    expect(hashEmail('ANN@example.com')).toBe(hashEmail('ann@example.com'));
    const a = store.add({ email: 'Ann@Example.com', editions: ['midweek'] });
    const b = store.add({ email: 'ann@EXAMPLE.com', editions: ['midweek'] });
    expect(a.result).toBe('added');
    expect(b.result).toBe('unchanged');
    expect(store.counts().total).toBe(1);
    expect(store.findByEmail('ANN@example.com')!.email).toBe('ann@example.com');
    expect(() => store.add({ email: 'not an email', editions: ['midweek'] })).toThrow(/invalid email address "not an email"/);
  });

  test('pending subscribers never appear in activeBatch; batches page by id', () => {
    const { store } = freshStore();
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(store.add({ email: `a${i}@example.com`, editions: i % 2 ? ['sunday'] : ['midweek', 'sunday'] }).subscriber!.id);
    const pending = store.subscribe({ email: 'pending@example.com', editions: ['midweek', 'sunday'], ...form }).subscriber!;
    expect(pending.status).toBe('pending');
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const batch = store.activeBatch('sunday', after, 3);
      if (!batch.length) break;
      seen.push(...batch.map((s) => s.id));
      after = batch.at(-1)!.id;
    }
    expect(seen).toEqual(ids);
    expect(store.activeBatch('midweek', 0, 100).map((s) => s.id)).toEqual(ids.filter((_, i) => i % 2 === 0));
    expect(store.countActive('sunday')).toBe(7);
    expect(store.countActive('midweek')).toBe(4);
    store.confirm(pending.id);
    expect(store.activeBatch('midweek', 0, 100).map((s) => s.id)).toContain(pending.id);
  });

  test('hard-bounced and complained addresses stay suppressed when they subscribe again through the form', () => {
    const { store } = freshStore();
    const b = store.add({ email: 'b@example.com', editions: ['midweek'] }).subscriber!;
    const c = store.add({ email: 'c@example.com', editions: ['midweek'] }).subscriber!;
    store.suppress(b.id, 'bounced', '550 5.1.1 <b@example.com>: no such user');
    store.suppress(c.id, 'complained', 'abuse report');
    for (const s of [b, c]) {
      const outcome = store.subscribe({ email: s.email.toUpperCase(), editions: ['midweek', 'sunday'], ...form });
      expect(outcome.sendConfirmation).toBe(false);
      expect(store.get(s.id)!.status).not.toMatch(/pending|active/);
      expect(store.isSuppressed(s.email)).toBe(true);
      expect(store.add({ email: s.email, editions: ['sunday'] }).result).toBe('suppressed');
    }
    expect(store.activeBatch('midweek', 0, 100)).toEqual([]);
  });

  test('an active subscriber re-subscribing is not downgraded and gets no email', () => {
    const { store } = freshStore();
    const s = store.add({ email: 'a@example.com', editions: ['sunday'] }).subscriber!;
    expect(store.subscribe({ email: 'a@example.com', editions: ['midweek'], ...form }).sendConfirmation).toBe(false);
    expect(store.get(s.id)).toMatchObject({ status: 'active', midweek: false, sunday: true });
  });

  test('a pending subscriber gets at most one confirmation per five minutes', () => {
    let now = new Date('2026-11-25T10:00:00Z');
    const { store } = freshStore(() => now);
    expect(store.subscribe({ email: 'p@example.com', editions: ['midweek'], ...form }).sendConfirmation).toBe(true);
    now = new Date('2026-11-25T10:01:00Z');
    expect(store.subscribe({ email: 'p@example.com', editions: ['midweek'], ...form }).sendConfirmation).toBe(false);
    now = new Date('2026-11-25T10:07:00Z');
    expect(store.subscribe({ email: 'p@example.com', editions: ['midweek'], ...form }).sendConfirmation).toBe(true);
    expect(store.findByEmail('p@example.com')!.consent.requestedAt).toBe('2026-11-25T10:07:00.000Z');
  });

  test('soft bounces suppress at the limit; a delivery resets the count', () => {
    const { store } = freshStore();
    const s = store.add({ email: 's@example.com', editions: ['midweek'] }).subscriber!;
    expect(store.recordSoftBounce(s.id, '452 mailbox full', 3)).toBe(false);
    expect(store.recordSoftBounce(s.id, '452 mailbox full', 3)).toBe(false);
    store.resetSoftBounces(s.id);
    expect(store.get(s.id)!.softBounces).toBe(0);
    store.recordSoftBounce(s.id, '452', 3);
    store.recordSoftBounce(s.id, '452', 3);
    expect(store.recordSoftBounce(s.id, '452 mailbox full', 3)).toBe(true);
    expect(store.get(s.id)!.status).toBe('bounced');
    expect(store.isSuppressed('s@example.com')).toBe(true);
  });

  test('an erased subscriber id is never given to anyone else (old links must not reach a new person)', () => {
    const { store } = freshStore();
    store.add({ email: 'one@example.com', editions: ['midweek'] });
    const two = store.add({ email: 'two@example.com', editions: ['midweek'] }).subscriber!;
    store.erase('two@example.com');
    const three = store.add({ email: 'three@example.com', editions: ['midweek'] }).subscriber!;
    expect(three.id).toBeGreaterThan(two.id);
  });

  test('unsubscribing one kind keeps the other; the last kind makes the status unsubscribed', () => {
    const { store } = freshStore();
    const s = store.add({ email: 'u@example.com', editions: ['midweek', 'sunday'] }).subscriber!;
    expect(store.unsubscribe(s.id, 'sunday')).toMatchObject({ status: 'active', midweek: true, sunday: false });
    expect(store.unsubscribe(s.id, 'sunday')).toMatchObject({ status: 'active', midweek: true, sunday: false });
    expect(store.unsubscribe(s.id, 'midweek')).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });
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

  test('loadSecret uses ALMANAC_SECRET, else generates one once and keeps it', () => {
    const { db } = freshStore();
    expect(loadSecret(db, testConfig({ ALMANAC_SECRET: 'configured-secret-123' }))).toBe('configured-secret-123');
    const first = loadSecret(db, testConfig());
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(loadSecret(db, testConfig())).toBe(first);
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
