import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

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
  // 2: late outcomes (bounces and complaints that arrive after the relay said 250): two more ledger states,
  // the DSN status, diagnostic and arrival time of the copy's late bounce, and the lookups that find a copy again.
  // SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
  `
  CREATE TABLE deliveries_v2 (
    edition_id      TEXT NOT NULL,
    subscriber_id   INTEGER NOT NULL,
    email           TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('sending','sent','deferred','failed','bounced','in_doubt','skipped','soft_bounced','complained')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_reply      TEXT,
    message_id      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    late_status     TEXT,                          -- RFC 3463 status of a late bounce (5.1.1), or 'complaint'
    late_diagnostic TEXT,                          -- the remote server's words, or the provider's
    late_source     TEXT,                          -- dsn, arf, qmail, exim, exchange, mailgun, postmark, ses, …
    late_at         TEXT,                          -- when the bounce or complaint arrived
    PRIMARY KEY (edition_id, subscriber_id)
  ) WITHOUT ROWID;
  INSERT INTO deliveries_v2 (edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at)
    SELECT edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at FROM deliveries;
  DROP TABLE deliveries;
  ALTER TABLE deliveries_v2 RENAME TO deliveries;
  CREATE INDEX deliveries_state ON deliveries (edition_id, state);
  CREATE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL;
  CREATE INDEX deliveries_email ON deliveries (email, created_at);
  CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, created_at);
  `,
];

/** Opens (creating if needed) the SQLite store in WAL mode and applies pending migrations. */
export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
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
