import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.ts';

/** Which database an `ALMANAC_DB` value selects. */
export type DialectName = 'sqlite' | 'postgres';

/** An open store: one typed query layer (Kysely) over SQLite or PostgreSQL. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** The target without its password, safe to print. */
  readonly label: string;
  /** The better-sqlite3 handle on SQLite (for its pragmas), undefined on PostgreSQL. */
  readonly sqlite: BetterSqlite3.Database | undefined;
  /** The pg pool on PostgreSQL (for the send loop's prepared ledger statement), undefined on SQLite. */
  readonly pgPool?: pg.Pool;
  /** Closes the connection or pool. */
  close(): Promise<void>;
}

/** A query context: the store's Kysely, or one transaction of it. */
export type Tx = Kysely<Database>;
