import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { ConfigError } from '../config.ts';
import { dialectFor, redactUrl } from './dialect.ts';
import type { Store } from './handle.ts';
import { migrate } from './migrations.ts';
import { createPrivately } from './private-file.ts';
import type { Database } from './schema.ts';

/** Options of openStore. */
export interface OpenOptions {
  /** PostgreSQL connections in the pool (ALMANAC_DB_POOL). @default 10 */
  poolSize?: number;
  /** Apply pending migrations at open. @default true */
  migrate?: boolean;
  /** Give up connecting to PostgreSQL after this long. @default 10000 */
  connectTimeoutMs?: number;
  /** What names the target in an error (a setting or an option, e.g. `db copy --to`). @default 'ALMANAC_DB' */
  source?: string;
}

/** PostgreSQL cannot be reached at start; the message names the setting (ALMANAC_DB) and the URL without its password. Exit 2, like any setting that cannot be used. */
export class StoreUnavailableError extends ConfigError {
  override name = 'StoreUnavailableError';
}

/**
 * Opens the store `ALMANAC_DB` names: a `postgres://`/`postgresql://` URL (its `?sslmode=…` and
 * other options are pg's) gives PostgreSQL over a pool; anything else is a SQLite file, created
 * if needed, in WAL mode. Pending migrations are applied unless `migrate: false`.
 */
export async function openStore(target: string, options: OpenOptions = {}): Promise<Store> {
  const store = dialectFor(target) === 'postgres' ? await openPostgres(target, options) : openSqlite(target);
  if (options.migrate ?? true) {
    try {
      await migrate(store);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

function openSqlite(path: string): Store {
  createPrivately(path);
  const sqlite = new BetterSqlite3(path);
  // WAL (readers never wait for the writer), a 5 s wait for the write lock, and secure_delete (erasure leaves no copy in freed pages).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('secure_delete = ON');
  cacheStatements(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: 'sqlite',
    label: path,
    sqlite,
    close: () => db.destroy(),
  };
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs as much as running a small
 * statement, and the send loop runs the same few statements thousands of times. Keep the most
 * recent prepared statements by SQL text (they are reusable; the store never streams a query, so
 * a cached statement is never busy when it is used again).
 */
function cacheStatements(sqlite: BetterSqlite3.Database, size = 256): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, BetterSqlite3.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (statement) {
      cache.delete(source); // re-insert: the Map's order is the recency order
    } else {
      statement = prepare(source);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    }
    cache.set(source, statement);
    return statement;
  }) as typeof sqlite.prepare;
}

// BIGINT (ids, count(*)) arrives from pg as a string by default; every such value here is below
// 2^53 (ids are 48-bit), so read it as a number, as better-sqlite3 does. Per pool, not global.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

async function openPostgres(url: string, options: OpenOptions): Promise<Store> {
  const label = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    types,
  });
  // An idle connection the server closes (restart, failover) emits 'error' on the pool; without a
  // listener that would end the process. The next query gets a fresh connection or a clear error.
  pool.on('error', () => undefined);
  // The same for a connection lost while checked out between two queries (a send's loop holds
  // none across its awaits, but Kysely's transactions do): the client emits 'error', which would end
  // the process. Its next query fails instead, and the send loop pauses and tries again on a fresh one.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StoreUnavailableError(`${options.source ?? 'ALMANAC_DB'}: cannot connect to PostgreSQL at ${label}: ${causeText(error)}`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', label, sqlite: undefined, pgPool: pool, close: () => db.destroy() };
}

/** One line for a connection error (Node reports a refused dual-stack connect as an AggregateError with no message). */
function causeText(error: unknown): string {
  const e = error as Error & { code?: string; errors?: Error[] };
  const inner = e.errors?.[0] as (Error & { code?: string }) | undefined;
  return (e.message || inner?.message || e.code || String(error)).split('\n')[0]!;
}

/** Answers when the database does (`GET /healthz`); throws the driver's error otherwise. */
export async function pingStore(store: Store): Promise<void> {
  await sql`SELECT 1`.execute(store.db);
}
