import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe } from 'vitest';
import type { DialectName, Store } from '../src/store/handle.ts';
import { openStore, type OpenOptions } from '../src/store/open.ts';
import { tempDir } from './helpers.ts';
import { skipReason, titled, type Service } from './services.ts';

/** The PostgreSQL server the tests may use: ALMANAC_TEST_PG_URL, set by you, by .ci/run or by the global setup (which starts one). */
export const PG_URL = skipReason('postgresql') ? undefined : process.env.ALMANAC_TEST_PG_URL;

/** Why the PostgreSQL cases did not run. */
export const PG_SKIP_REASON = skipReason('postgresql') ?? '';

const opened: Store[] = [];
const databases: string[] = [];

/** A URL naming database `name` on the test server. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database: a temp SQLite file, or a new database inside the test server (dropped after the test). */
export async function freshTarget(dialect: DialectName): Promise<string> {
  if (dialect === 'sqlite') return join(tempDir('almanac-store-'), 'almanac.db');
  if (!PG_URL) throw new Error('ALMANAC_TEST_PG_URL is not set');
  const name = `almanac_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  databases.push(name);
  return withDatabase(PG_URL, name);
}

/** Opens a store on `target`, closed after the test. */
export async function openTracked(target: string, options?: OpenOptions): Promise<Store> {
  const store = await openStore(target, options);
  opened.push(store);
  return store;
}

/**
 * `n` handles on one database as `n` processes would hold them. PostgreSQL: separate pools, truly
 * concurrent. SQLite: the same handle `n` times, because two better-sqlite3 handles in ONE thread
 * would block each other (a busy wait is synchronous); separate processes on one SQLite file are
 * covered by the child-process tests.
 */
export async function handles(dialect: DialectName, first: Store, target: string, n: number, options?: OpenOptions): Promise<Store[]> {
  if (dialect === 'sqlite') return Array.from({ length: n }, () => first);
  return [first, ...(await Promise.all(Array.from({ length: n - 1 }, () => openTracked(target, options))))];
}

/** A fresh database, opened (and migrated). */
export async function freshStore(dialect: DialectName, options?: OpenOptions): Promise<{ store: Store; target: string }> {
  const target = await freshTarget(dialect);
  return { store: await openTracked(target, options), target };
}

/** Closes every store the test opened and drops its PostgreSQL databases. */
export async function cleanUp(): Promise<void> {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
  const names = databases.splice(0);
  if (names.length > 0) await admin(async (c) => { for (const name of names) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); });
}

/**
 * Declares the same cases for SQLite and PostgreSQL. Without a PostgreSQL server the PostgreSQL
 * block is reported as skipped, with the reason in its title; so are both blocks when the cases
 * need another service (`needs`) this machine does not have.
 */
export function describeEachDb(name: string, fn: (dialect: DialectName) => void, needs?: Service): void {
  const missing = needs ? skipReason(needs) : undefined;
  describe.skipIf(!!missing)(titled(`${name} [sqlite]`, missing), () => {
    afterEach(cleanUp);
    fn('sqlite');
  });
  describe.skipIf(!!missing || !PG_URL)(titled(`${name} [postgres]`, missing ?? (PG_URL ? undefined : PG_SKIP_REASON)), () => {
    afterEach(cleanUp);
    fn('postgres');
  });
}

/**
 * Like describeEachDb, for suites whose tests share one database set up in `beforeAll` (a running
 * web server): the stores and databases are closed and dropped after the block's last test.
 */
export function describeEachDbShared(name: string, fn: (dialect: DialectName) => void, needs?: Service): void {
  const missing = needs ? skipReason(needs) : undefined;
  describe.skipIf(!!missing)(titled(`${name} [sqlite]`, missing), () => {
    afterAll(cleanUp);
    fn('sqlite');
  });
  describe.skipIf(!!missing || !PG_URL)(titled(`${name} [postgres]`, missing ?? (PG_URL ? undefined : PG_SKIP_REASON)), () => {
    afterAll(cleanUp);
    fn('postgres');
  });
}
