import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { writeSchemaVersion } from '../src/store/dialect.ts';
import { Ledger, LedgerBatch } from '../src/store/ledger.ts';
import { createSignInLink, spendSignInLink } from '../src/store/desk-sessions.ts';
import { markEditionSent, upsertEditionRow } from '../src/store/editions.ts';
import { addEditor } from '../src/store/editors.ts';
import { writeExport } from '../src/store/export.ts';
import type { Store } from '../src/store/handle.ts';
import { SCHEMA_VERSION } from '../src/store/migrations.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { almanac } from './cli.ts';
import { address, EDITION_DATE, EDITION_ID, fixtureContent } from './delivery-fixtures.ts';
import { freePort, tempDir } from './helpers.ts';
import { startSmtpServer } from './smtp.ts';
import { cleanUp, freshStore, freshTarget, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';

afterEach(cleanUp);

/** A SQLite database with something in every table db copy moves. */
async function populated(store: Store): Promise<void> {
  const subs = new SubscriberStore(store);
  const ids: number[] = [];
  for (let i = 0; i < 30; i++) ids.push((await subs.add({ email: `c${i}@example.com`, name: `C ${i}`, editions: i % 2 ? ['sunday'] : ['midweek', 'sunday'] })).subscriber!.id);
  await subs.subscribe({ email: 'form@example.com', editions: ['midweek'], ip: '198.51.100.7', wording: 'v1-2026-11' });
  await subs.recordSoftBounce(ids[3]!, '452 mailbox full', 5);
  await subs.suppress(ids[4]!, 'complained', 'abuse');
  await subs.erase('c5@example.com');
  await loadSecret(store, { secret: undefined });
  await upsertEditionRow(store, {
    edition: { id: '2026-11-25-midweek', kind: 'midweek', number: 47, sendAt: new Date('2026-11-25T07:00:00Z'), subject: 'S', preheader: 'P' },
    archive: { html: '<p>archive</p>'.repeat(2000), text: 'archive' },
  });
  const batch = new LedgerBatch();
  for (const id of ids.slice(0, 20)) batch.record({ subscriberId: id, state: id === ids[7] ? 'in_doubt' : 'sent', reply: '250 ok', messageId: `<${id}>` }, `c${id - 1}@example.com`);
  await new Ledger(store, '2026-11-25-midweek').commit(batch);
  await markEditionSent(store, '2026-11-25-midweek');
  // The desk: two editors (with an audit entry each), a session and an unspent sign-in link.
  const now = new Date('2026-11-24T12:00:00Z');
  await addEditor(store, { email: 'ed@example.com', name: 'Ed', role: 'admin' }, 'operator', now);
  await addEditor(store, { email: 'ann@example.com', role: 'editor' }, 'operator', now);
  const link = (await createSignInLink(store, 'ed@example.com', now))!;
  await spendSignInLink(store, link.token, now);
  await createSignInLink(store, 'ann@example.com', now);
}

async function exportJson(store: Store): Promise<unknown> {
  let text = '';
  await writeExport(new SubscriberStore(store), 'json', (c) => (text += c));
  const { exportedAt: _, ...rest } = JSON.parse(text) as { exportedAt: string };
  return rest;
}

describe('almanac db migrate', () => {
  test('prints the schema version before and after', async () => {
    const target = await freshTarget('sqlite');
    const first = await almanac(['db', 'migrate'], { ALMANAC_DB: target });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`${target}: schema version before: 0\n${target}: schema version after: ${SCHEMA_VERSION}\n`);
    const again = await almanac(['db', 'migrate'], { ALMANAC_DB: target });
    expect(again.stdout).toContain(`schema version before: ${SCHEMA_VERSION}\n`);
  });

  test('refuses a database newer than the code, naming both versions', async () => {
    const { store, target } = await freshStore('sqlite');
    await store.db.connection().execute((c) => writeSchemaVersion(store, c, SCHEMA_VERSION + 1));
    const result = await almanac(['db', 'migrate'], { ALMANAC_DB: target });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`schema version ${SCHEMA_VERSION + 1} is newer than this Almanac's (${SCHEMA_VERSION})`);
  });

  test('an unreachable PostgreSQL: one line naming ALMANAC_DB, never the password, exit 2', async () => {
    const port = await freePort();
    const result = await almanac(['db', 'migrate'], { ALMANAC_DB: `postgres://almanac:s3cret-Pw@127.0.0.1:${port}/almanac?sslmode=disable` });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`ALMANAC_DB: cannot connect to PostgreSQL at postgres://almanac:***@127.0.0.1:${port}/almanac?sslmode=disable: connect ECONNREFUSED`);
    expect(result.stderr).not.toContain('s3cret-Pw');
  });
});

describe('ALMANAC_DB and ALMANAC_DB_POOL', () => {
  test.each([
    ['./data/almanac.db', './data/almanac.db'],
    ['postgres://u:p@db.internal:5432/almanac?sslmode=require', 'postgres://u:p@db.internal:5432/almanac?sslmode=require'],
    ['postgresql://db.internal/almanac', 'postgresql://db.internal/almanac'],
  ])('%s is accepted', (value, expected) => {
    expect(loadConfig({ ALMANAC_DB: value }).dbPath).toBe(expected);
  });

  test('another URL scheme is refused with the password hidden; the pool size is validated', () => {
    expect(() => loadConfig({ ALMANAC_DB: 'mysql://u:hunter22@h/db' })).toThrow(
      new ConfigError('ALMANAC_DB: expected a SQLite file path or a postgres://user:pass@host:5432/db URL, found "mysql://u:***@h/db"'),
    );
    expect(loadConfig({}).dbPoolSize).toBe(10);
    expect(loadConfig({ ALMANAC_DB_POOL: '25' }).dbPoolSize).toBe(25);
    expect(() => loadConfig({ ALMANAC_DB_POOL: '0' })).toThrow(/ALMANAC_DB_POOL: expected PostgreSQL connections per process/);
  });
});

describe.skipIf(!PG_URL)(`almanac db copy${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  test('copies everything into an empty PostgreSQL database, checks counts, and refuses a non-empty one', async () => {
    const { store: source, target: sqlitePath } = await freshStore('sqlite');
    await populated(source);
    const url = await freshTarget('postgres');
    const result = await almanac(['db', 'copy', '--to', url], { ALMANAC_DB: sqlitePath });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/subscribers +30 rows\n/);
    expect(result.stdout).toMatch(/deliveries +20 rows\n/);
    expect(result.stdout).toMatch(/suppressions +2 rows\n/);
    expect(result.stdout).toMatch(/editions +1 rows\n/);
    expect(result.stdout).toContain('row counts match in every table');
    expect(result.stdout).toMatch(/editors +2 rows\n/);
    expect(result.stdout).toMatch(/desk_audit +2 rows\n/);
    expect(result.stdout).not.toMatch(/desk_sessions|desk_sign_in_links/);

    const copy = await openTracked(url);
    expect(await exportJson(copy)).toEqual(await exportJson(source));
    expect(await loadSecret(copy, { secret: undefined })).toBe(await loadSecret(source, { secret: undefined }));
    for (const table of ['settings', 'suppressions', 'editions', 'deliveries', 'editors', 'desk_audit'] as const) {
      const order = ({ settings: 'key', suppressions: 'email_hash', editions: 'id', deliveries: 'subscriber_id', editors: 'email', desk_audit: 'id' } as const)[table];
      const rows = (s: Store) => s.db.selectFrom(table).selectAll().orderBy(order).execute();
      expect(await rows(copy), table).toEqual(await rows(source));
    }
    // Sessions and sign-in links are credentials: not copied (editors sign in again); the audit log goes on.
    expect(await copy.db.selectFrom('desk_sessions').selectAll().execute()).toEqual([]);
    expect(await copy.db.selectFrom('desk_sign_in_links').selectAll().execute()).toEqual([]);
    await addEditor(copy, { email: 'new@example.com', role: 'editor' }, 'operator', new Date('2026-11-25T00:00:00Z'));
    expect((await copy.db.selectFrom('desk_audit').select('id').orderBy('id').execute()).map((r) => Number(r.id))).toEqual([1, 2, 3]);
    // New subscribers on PostgreSQL continue the id sequence, never reusing the erased id.
    const next = (await new SubscriberStore(copy).add({ email: 'after@example.com', editions: ['midweek'] })).subscriber!;
    expect(next.id).toBe(32);

    const again = await almanac(['db', 'copy', '--to', url], { ALMANAC_DB: sqlitePath });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('almanac db copy: the target database is not empty (table settings has 2 rows); copy only into an empty database\n');
  });

  test('an edition sent on SQLite, copied to PostgreSQL and sent again from there sends nothing new; a subscriber added afterwards gets it', async () => {
    const smtp = await startSmtpServer();
    try {
      const sqlitePath = join(tempDir(), 'almanac.db');
      const env = { ALMANAC_DB: sqlitePath, ALMANAC_CONTENT_DIR: fixtureContent(), ALMANAC_BASE_URL: 'https://almanac.example', SMTP_URL: smtp.url };
      const ok = async (args: string[], extra: Record<string, string> = {}) => {
        const result = await almanac(args, { ...env, ...extra });
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        return result.stdout;
      };
      for (let i = 1; i <= 5; i++) await ok(['subscribers', 'add', address(i)]);
      await ok(['send', 'midweek', '--date', EDITION_DATE]);
      expect(smtp.recipients()).toHaveLength(5);

      const url = await freshTarget('postgres');
      await ok(['db', 'copy', '--to', url]);
      const resent = await ok(['send', 'midweek', '--date', EDITION_DATE], { ALMANAC_DB: url });
      expect(resent).toContain(`everyone already has ${EDITION_ID}: 5 sent`);
      expect(smtp.recipients()).toHaveLength(5);

      await ok(['subscribers', 'add', 'after-the-move@example.org'], { ALMANAC_DB: url });
      await ok(['send', 'midweek', '--date', EDITION_DATE], { ALMANAC_DB: url });
      expect(smtp.recipients().sort()).toEqual([...Array.from({ length: 5 }, (_, i) => address(i + 1)), 'after-the-move@example.org'].sort());
    } finally {
      await smtp.close();
    }
  });
});

test('db copy refuses a --to that is not a PostgreSQL URL, and a PostgreSQL source', async () => {
  const target = await freshTarget('sqlite');
  const bad = await almanac(['db', 'copy', '--to', 'mysql://u:pw1234@h/db'], { ALMANAC_DB: target });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--to: expected a postgres:// or postgresql:// URL, found "mysql://u:***@h/db"');
  const fromPg = await almanac(['db', 'copy', '--to', 'postgres://h/db'], { ALMANAC_DB: 'postgres://h/other' });
  expect(fromPg.code).toBe(2);
  expect(fromPg.stderr).toContain('ALMANAC_DB is a PostgreSQL URL');
});

test('report, send and bounces ingest on an unreachable PostgreSQL: one line naming ALMANAC_DB without its password, exit 2, no directory named postgres:', async () => {
  for (const args of [['report', '2026-11-25-midweek'], ['send', 'midweek', '--date', '2026-11-25'], ['bounces', 'ingest', '/dev/null']]) {
    const result = await almanac(args, { ALMANAC_DB: 'postgres://u:pw9876@127.0.0.1:1/x' });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/ALMANAC_DB: cannot connect to PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
    expect(result.stderr).not.toContain('pw9876');
    expect(existsSync('postgres:')).toBe(false);
  }
});
