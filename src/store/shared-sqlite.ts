import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Store } from './handle.ts';
import type { Database } from './schema.ts';

/**
 * A Store over a better-sqlite3 handle the caller already opened (and migrated) with src/db.ts,
 * for the time both stores live side by side: one process keeps ONE handle on a SQLite file (two
 * handles in one thread would block each other). close() leaves the handle open: its opener closes it.
 */
export function storeOnSqliteHandle(sqlite: BetterSqlite3.Database): Store {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', label: sqlite.name, sqlite, close: async () => undefined };
}
