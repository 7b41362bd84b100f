import { sql, type SelectQueryBuilder } from 'kysely';
import type { DialectName, Store, Tx } from './handle.ts';
import { isPostgresUrl } from './target.ts';

export { isPostgresUrl, redactUrl } from './target.ts';

// The few places where SQLite and PostgreSQL need different SQL or handling. Every query of the
// store is written once through Kysely; each function here says why its difference exists.
// Things that need NO difference, so are written directly in the stores: upserts
// (`INSERT … ON CONFLICT (…) DO UPDATE/DO NOTHING`, SQLite ≥ 3.24 and PostgreSQL ≥ 9.5 accept the
// same text, replacing SQLite's `INSERT OR IGNORE`), `RETURNING` (SQLite ≥ 3.35), and timestamps,
// which are ISO 8601 UTC text from the program's clock on both (see schema.ts).

/** The dialect an `ALMANAC_DB` value selects: PostgreSQL for its URLs, else a SQLite file path. */
export function dialectFor(target: string): DialectName {
  return isPostgresUrl(target) ? 'postgres' : 'sqlite';
}

/**
 * Runs `fn` in one transaction and commits, or rolls back on error.
 * - SQLite: `BEGIN IMMEDIATE` (Kysely's own `BEGIN` is deferred), so the write lock is taken
 *   first: a transaction that reads then writes never fails with SQLITE_BUSY half-way when another
 *   process wrote in between; busy_timeout makes it wait instead.
 * - PostgreSQL: READ COMMITTED; code that reads a row it will change locks it with `lockRows`.
 * Inside `fn`, use only the given `tx` (on SQLite the single connection is held until it ends).
 */
export async function transaction<T>(store: Store, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (store.dialect === 'postgres') return store.db.transaction().execute(fn);
  return store.db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}

/**
 * `SELECT … FOR UPDATE` on PostgreSQL: concurrent transactions that read a row in order to change
 * it wait for each other. SQLite has no row locks (and no such syntax); its `BEGIN IMMEDIATE`
 * already serialises writers.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function lockRows<Q extends SelectQueryBuilder<any, any, any>>(store: Store, query: Q): Q {
  return store.dialect === 'postgres' ? (query.forUpdate() as Q) : query;
}

/**
 * `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL: several senders looking for work each take a
 * different row instead of queueing behind one another. On SQLite only one writer exists at a time.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function skipLockedRows<Q extends SelectQueryBuilder<any, any, any>>(store: Store, query: Q): Q {
  return store.dialect === 'postgres' ? (query.forUpdate().skipLocked() as Q) : query;
}

/**
 * A unique-key violation (two processes inserting the same key at once). On PostgreSQL READ
 * COMMITTED lets two transactions both see "absent" and insert; SQLite's single writer never does,
 * but the check is cheap on both. The caller retries the whole operation once.
 */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string } | undefined;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Runs `fn`, and once more if it lost a race on a unique key (see isUniqueViolation). */
export async function retryOnUniqueViolation<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return fn();
  }
}

/**
 * The schema version. SQLite keeps it in `PRAGMA user_version`, as Almanac always has (so a file
 * made by older code upgrades in place); PostgreSQL has no such slot, so a one-row table
 * `almanac_schema` holds it.
 */
export async function readSchemaVersion(store: Store, tx: Tx): Promise<number> {
  if (store.dialect === 'sqlite') {
    const { rows } = await sql<{ user_version: number }>`PRAGMA user_version`.execute(tx);
    return rows[0]?.user_version ?? 0;
  }
  // A plain catalog query (a fresh snapshot per statement), not to_regclass(): after waiting for
  // the migration lock, to_regclass can still miss a table another migrator just committed.
  const { rows: exists } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'almanac_schema'`.execute(tx);
  if (!exists[0]?.n) return 0;
  const { rows } = await sql<{ version: number }>`SELECT version FROM almanac_schema`.execute(tx);
  return rows[0]?.version ?? 0;
}

/** Writes the schema version (inside the migration's transaction). */
export async function writeSchemaVersion(store: Store, tx: Tx, version: number): Promise<void> {
  if (store.dialect === 'sqlite') {
    await sql.raw(`PRAGMA user_version = ${Math.trunc(version)}`).execute(tx);
    return;
  }
  await sql`CREATE TABLE IF NOT EXISTS almanac_schema (version INTEGER NOT NULL)`.execute(tx);
  await sql`DELETE FROM almanac_schema`.execute(tx);
  await sql`INSERT INTO almanac_schema (version) VALUES (${version})`.execute(tx);
}

/**
 * Makes processes that start together migrate one after the other. PostgreSQL: a transaction-level
 * advisory lock (DDL of two migrators would otherwise collide). SQLite: `BEGIN IMMEDIATE` already did.
 */
export async function serialiseMigrations(store: Store, tx: Tx): Promise<void> {
  if (store.dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(tx);
}
const MIGRATION_LOCK_KEY = 7_305_461_201; // arbitrary, fixed: "almanac migrations"

/**
 * After an erasure: SQLite moves the change out of the WAL and truncates it, so the file holds no
 * copy of the erased address (with secure_delete on, freed pages are zeroed). PostgreSQL keeps dead
 * row versions until VACUUM reclaims them; that is the server's to do (see README).
 */
export async function afterErase(store: Store): Promise<void> {
  store.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
}

/** How many rows a Kysely UPDATE/DELETE changed (a bigint on both drivers). */
export function changed(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number {
  return Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n);
}

/**
 * Rows per multi-row statement. SQLite allows 32,766 bound values and PostgreSQL 65,535; a
 * ledger row has 9, so 500 rows stay far below both.
 */
export const ROWS_PER_STATEMENT = 500;

/**
 * The database went away or refused for a moment (PostgreSQL: connection lost, server restarting,
 * a serialisation failure or deadlock); the same transaction may be tried again later. Nothing of a
 * failed transaction was written, unless the connection broke after COMMIT reached the server. SQLite
 * is a local file: its errors are not of this kind.
 */
export function isTransientStoreError(store: Store, error: unknown): boolean {
  if (store.dialect !== 'postgres') return false;
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    /^(08|57P)/.test(code) ||
    code === '40001' ||
    code === '40P01' ||
    code === '55000' || // "database … is not currently accepting connections" (closed for maintenance)
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code) ||
    /Connection terminated|connection timeout|connection error|timeout exceeded when trying to connect|terminating connection|not currently accepting connections/i.test(message)
  );
}
