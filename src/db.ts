import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from './config.ts';
import { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError } from './store/migrations.ts';
import { isPostgresUrl } from './store/target.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the SQLite store in WAL mode and applies pending migrations.
 * The database holds personal data: a directory Almanac creates for it is 0700 and a new database
 * file is 0600 (SQLite gives its -wal and -shm files the database file's mode). An existing file
 * keeps the mode its owner gave it.
 */
export function openDb(path: string): Db {
  // Until every command runs on src/store/, a PostgreSQL URL must not become a directory named 'postgres:'.
  if (isPostgresUrl(path)) {
    throw new ConfigError("ALMANAC_DB: bounce handling (bounces ingest, serve, fetch, and npm start's bounce listener and IMAP poller) does not run on PostgreSQL yet; everything else does");
  }
  if (path !== ':memory:') createPrivately(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) return;
  // An empty file is a valid new database for SQLite; 'a' never truncates one created meanwhile.
  closeSync(openSync(path, 'a', 0o600));
}

/** Applies the store's SQLite migrations (src/store/migrations.ts: one list for both stores, so they agree on the version). */
function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current, SCHEMA_VERSION);
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      for (const statement of MIGRATIONS[v]!.sqlite) db.exec(statement);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/** Now as an ISO string; every timestamp in the store is written this way. */
export function nowIso(clock: () => Date = () => new Date()): string {
  return clock().toISOString();
}
