import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from './config.ts';
import { isPostgresUrl } from './store/target.ts';

export type Db = Database.Database;

/**
 * Versioned migrations, applied in order at open. Never edit a released one: append.
 * Timestamps are ISO 8601 UTC strings.
 */
const MIGRATIONS: string[] = [
  // 1: subscribers, suppressions, settings, editions, the delivery ledger and send locks.
  `
  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,          -- normalised: trimmed, lowercase
    name            TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced','complained')),
    midweek         INTEGER NOT NULL DEFAULT 1,    -- receives Midweek
    sunday          INTEGER NOT NULL DEFAULT 1,    -- receives Sunday
    consent_source  TEXT,                          -- 'form', 'operator', 'import'
    consent_ip      TEXT,
    consent_wording TEXT,                          -- version of the wording shown
    requested_at    TEXT,
    confirmed_at    TEXT,
    soft_bounces    INTEGER NOT NULL DEFAULT 0,    -- consecutive, across editions
    last_reply      TEXT,                          -- last SMTP reply that changed status
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
  );
  CREATE INDEX subscribers_status ON subscribers (status, id);

  -- Addresses never to be mailed again (erased, hard-bounced, complained): SHA-256 of the normalised email.
  CREATE TABLE suppressions (
    email_hash TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  -- One row per edition that was (or is being) sent. html/text are the archive copy, without personal links.
  CREATE TABLE editions (
    id          TEXT PRIMARY KEY,                  -- 2026-11-25-midweek
    kind        TEXT NOT NULL,
    number      INTEGER NOT NULL,
    send_at     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    preheader   TEXT NOT NULL,
    html        TEXT,
    text        TEXT,
    status      TEXT NOT NULL DEFAULT 'sending' CHECK (status IN ('sending','sent','skipped','failed')),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    note        TEXT
  );

  -- The delivery ledger: one row per (edition, subscriber), written 'sending' before the SMTP call.
  CREATE TABLE deliveries (
    edition_id    TEXT NOT NULL,
    subscriber_id INTEGER NOT NULL,
    email         TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('sending','sent','deferred','failed','bounced','in_doubt','skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_reply    TEXT,
    message_id    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (edition_id, subscriber_id)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_state ON deliveries (edition_id, state);

  -- Who is sending an edition right now (a lease renewed by heartbeat), so a second run refuses.
  CREATE TABLE send_locks (
    edition_id   TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
  );
  `,
  // 2: each send run of an edition, so that `report` shows the runs as they were (a late run to new
  // subscribers keeps its own start and finish). Editions sent before this keep their row's times as run 1.
  `
  CREATE TABLE edition_runs (
    edition_id  TEXT NOT NULL,
    run         INTEGER NOT NULL,                -- 1, 2, … in start order
    started_at  TEXT NOT NULL,
    finished_at TEXT,                            -- NULL: still running, or the process died
    outcome     TEXT CHECK (outcome IN ('complete','incomplete')),
    sent_before INTEGER,                         -- ledger rows 'sent' when the run started
    sent_after  INTEGER,                         -- … and when it finished
    PRIMARY KEY (edition_id, run)
  ) WITHOUT ROWID;
  INSERT INTO edition_runs (edition_id, run, started_at, finished_at, outcome)
    SELECT id, 1, started_at, finished_at, CASE WHEN status = 'sent' THEN 'complete' END FROM editions;
  `,
];

/**
 * Opens (creating if needed) the SQLite store in WAL mode and applies pending migrations.
 * The database holds personal data: a directory Almanac creates for it is 0700 and a new database
 * file is 0600 (SQLite gives its -wal and -shm files the database file's mode). An existing file
 * keeps the mode its owner gave it.
 */
export function openDb(path: string): Db {
  // Until every command runs on src/store/, a PostgreSQL URL must not become a directory named 'postgres:'.
  if (isPostgresUrl(path)) {
    throw new ConfigError('ALMANAC_DB: this command does not run on PostgreSQL yet (db migrate and db copy do); set ALMANAC_DB to a SQLite file path');
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

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this Almanac (${MIGRATIONS.length}); upgrade Almanac`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

/** Now as an ISO string; every timestamp in the store is written this way. */
export function nowIso(clock: () => Date = () => new Date()): string {
  return clock().toISOString();
}
