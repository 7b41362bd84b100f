import { sql } from 'kysely';
import { afterEach, expect, test } from 'vitest';
import Database from 'better-sqlite3';
import { writeSchemaVersion } from '../src/store/dialect.ts';
import { archivedHtml, editionReport } from '../src/store/editions.ts';
import type { Store } from '../src/store/handle.ts';
import { RAW_MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion, SchemaTooNewError } from '../src/store/migrations.ts';
import { openStore, pingStore } from '../src/store/open.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { hashEmail } from '../src/subscribers/email.ts';
import { cleanUp, describeEachDb, freshStore, freshTarget, handles, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';

afterEach(cleanUp);

/** Column names per table, in table order (the schema both databases must share). */
async function columns(store: Store): Promise<Record<string, string[]>> {
  const tables = await store.db.introspection.getTables();
  return Object.fromEntries(
    tables
      .filter((t) => t.name !== 'almanac_schema')
      .map((t) => [t.name, t.columns.map((c) => c.name)])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
}

describeEachDb('Migrations', (dialect) => {
  test('an empty database migrates from 0 to the current version; again is a no-op; several at once agree', async () => {
    const { store, target } = await freshStore(dialect, { migrate: false });
    expect(await schemaVersion(store)).toBe(0);
    const all = await handles(dialect, store, target, 3, { migrate: false });
    const results = await Promise.all(all.map((s) => migrate(s)));
    expect(results.map((r) => r.after)).toEqual([SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION]);
    expect(results.filter((r) => r.before === 0)).toHaveLength(1);
    expect(await migrate(store)).toEqual({ before: SCHEMA_VERSION, after: SCHEMA_VERSION });
    expect(Object.keys(await columns(store))).toEqual([
      'deliveries', 'desk_audit', 'desk_sessions', 'desk_sign_in_links', 'edition_audit', 'edition_reviews', 'edition_runs', 'editions', 'editors', 'engagement_events', 'schedule_fires', 'send_claims', 'send_locks', 'send_passes', 'settings', 'stored_editions', 'subscribers', 'suppressions', 'tracked_links', 'webhook_nonces',
    ]);
    await expect(pingStore(store)).resolves.toBeUndefined();
    await store.close();
    await expect(pingStore(store)).rejects.toThrow();
  });

  test('a database newer than the code is refused, naming both versions', async () => {
    const { store, target } = await freshStore(dialect);
    await store.db.transaction().execute((tx) => writeSchemaVersion(store, tx, SCHEMA_VERSION + 7));
    await store.close();
    const error = await openStore(target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as Error).message).toBe(
      `database schema version ${SCHEMA_VERSION + 7} is newer than this Almanac's (${SCHEMA_VERSION}); upgrade Almanac`,
    );
  });
});

test.skipIf(!PG_URL)(`SQLite and PostgreSQL have the same tables and columns${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, async () => {
  const sqlite = await freshStore('sqlite');
  const expected = await columns(sqlite.store);
  const postgres = await freshStore('postgres');
  expect(await columns(postgres.store)).toEqual(expected);
});

test('a SQLite file made by the first release (schema version 1) upgrades in place and loses nothing', async () => {
  const target = await freshTarget('sqlite');
  // A file as the first release made it: version 1's schema, and rows as that release wrote them
  // (plain better-sqlite3, the statements of the synchronous store it had).
  const old = new Database(target);
  for (const statement of RAW_MIGRATIONS[0]!.sqlite) old.exec(statement);
  old.pragma('user_version = 1');
  const at = '2026-11-20T10:00:00.000Z';
  const secret = 'c2VjcmV0LWZyb20tdGhlLWZpcnN0LXJlbGVhc2UtMTIz';
  const subscriber = old.prepare(
    `INSERT INTO subscribers (id, email, name, status, midweek, sunday, consent_source, consent_ip, consent_wording, requested_at, confirmed_at, created_at, updated_at)
     VALUES (@id, @email, @name, @status, @midweek, @sunday, @source, @ip, @wording, @at, @confirmed, @at, @at)`,
  );
  const ann = { id: 1 };
  subscriber.run({ id: 1, email: 'ann@example.com', name: 'Ann', status: 'active', midweek: 1, sunday: 1, source: 'operator', ip: null, wording: null, at, confirmed: at });
  const bo = { id: 2 };
  subscriber.run({ id: 2, email: 'bo@example.com', name: null, status: 'pending', midweek: 0, sunday: 1, source: 'form', ip: '192.0.2.9', wording: 'v1-2026-11', at, confirmed: null });
  // gone@example.com was subscriber 3, then erased: no row, its hash suppressed, the last id kept.
  old.prepare('INSERT INTO suppressions (email_hash, reason, created_at) VALUES (?, ?, ?)').run(hashEmail('gone@example.com'), 'erased', at);
  old.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('subscribers.last_id', '3');
  old.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('token_secret', secret);
  old.prepare('UPDATE subscribers SET soft_bounces = soft_bounces + 1, last_reply = ?, updated_at = ? WHERE id = ?').run('452 mailbox full', at, ann.id);
  old
    .prepare(
      `INSERT INTO editions (id, kind, number, send_at, subject, preheader, html, text, status, started_at)
       VALUES ('2026-11-25-midweek', 'midweek', 47, '2026-11-25T07:00:00.000Z', 'S', 'P', '<p>archive</p>', 'archive', 'sending', '2026-11-25T07:00:01.000Z')`,
    )
    .run();
  old
    .prepare(
      `INSERT INTO deliveries (edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at)
       VALUES ('2026-11-25-midweek', ?, 'ann@example.com', 'sent', 1, '250 ok', '<a@x>', ?, ?)`,
    )
    .run(ann.id, at, at);
  old.prepare("UPDATE editions SET status = 'sent', finished_at = '2026-11-25T07:05:00.000Z' WHERE id = '2026-11-25-midweek'").run();
  expect(old.pragma('user_version', { simple: true })).toBe(1);
  old.close();

  const store = await openTracked(target, { migrate: false });
  expect(await schemaVersion(store)).toBe(1);
  expect(await migrate(store)).toEqual({ before: 1, after: SCHEMA_VERSION });
  const subs = new SubscriberStore(store);
  expect(await subs.get(ann.id)).toMatchObject({ email: 'ann@example.com', name: 'Ann', softBounces: 1, lastReply: '452 mailbox full', consent: { source: 'operator' } });
  expect(await subs.get(bo.id)).toMatchObject({ status: 'pending', consent: { source: 'form', ip: '192.0.2.9', wording: 'v1-2026-11' } });
  expect(await subs.isSuppressed('gone@example.com')).toBe(true);
  expect(await loadSecret(store, { secret: undefined })).toBe(secret);
  expect(await archivedHtml(store, '2026-11-25-midweek')).toBe('<p>archive</p>');
  expect(await editionReport(store, '2026-11-25-midweek')).toMatchObject({ total: 1, counts: { sent: 1 }, edition: { status: 'sent', number: 47 } });
  // A new subscriber does not get the erased subscriber's id back.
  const next = (await subs.add({ email: 'new@example.com', editions: ['midweek'] })).subscriber!;
  expect(next.id).toBe(4);
  // The upgraded file has exactly the tables and columns of a fresh one.
  const fresh = await freshStore('sqlite');
  expect(await columns(store)).toEqual(await columns(fresh.store));
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM send_passes`.execute(store.db);
  expect(rows[0]!.n).toBe(0);
});
