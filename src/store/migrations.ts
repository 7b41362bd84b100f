import { sql } from 'kysely';
import { readSchemaVersion, serialiseMigrations, transaction, writeSchemaVersion } from './dialect.ts';
import type { DialectName, Store, Tx } from './handle.ts';

/** A released migration (versions 1–6): the same tables written out once per dialect. */
type RawMigration = Readonly<Record<DialectName, readonly string[]>>;

/**
 * A migration from version 7 on: written once with Kysely's schema builder; `dialect` is there
 * only for the rare statement whose syntax really differs (say why where it is used).
 */
export interface SchemaMigration {
  up(tx: Tx, dialect: DialectName): Promise<void>;
}

/** Columns of `schedule_fires` (version 6): the same types on both databases. */
const SCHEDULE_FIRES_COLUMNS = `
  edition_id TEXT NOT NULL PRIMARY KEY,
  owner      TEXT NOT NULL,
  running    INTEGER NOT NULL,
  fired_at   TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  attempts   INTEGER NOT NULL`;

/**
 * Versioned migrations, one list per dialect with the same tables and columns (schema.ts).
 * Never edit a released one: append. Version 1 on SQLite is exactly the first release's schema, so
 * a file that release made (user_version 1) upgrades in place from version 2 on.
 */
export const RAW_MIGRATIONS: readonly RawMigration[] = [
  // 1: subscribers, suppressions, settings, editions, the delivery ledger and send locks.
  {
    sqlite: [
      `CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      )`,
      `CREATE TABLE subscribers (
        id              INTEGER PRIMARY KEY,
        email           TEXT NOT NULL UNIQUE,
        name            TEXT,
        status          TEXT NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced','complained')),
        midweek         INTEGER NOT NULL DEFAULT 1,
        sunday          INTEGER NOT NULL DEFAULT 1,
        consent_source  TEXT,
        consent_ip      TEXT,
        consent_wording TEXT,
        requested_at    TEXT,
        confirmed_at    TEXT,
        soft_bounces    INTEGER NOT NULL DEFAULT 0,
        last_reply      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      )`,
      `CREATE INDEX subscribers_status ON subscribers (status, id)`,
      `CREATE TABLE suppressions (
        email_hash TEXT PRIMARY KEY,
        reason     TEXT NOT NULL,
        created_at TEXT NOT NULL
      )`,
      `CREATE TABLE editions (
        id          TEXT PRIMARY KEY,
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
      )`,
      `CREATE TABLE deliveries (
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
      ) WITHOUT ROWID`,
      `CREATE INDEX deliveries_state ON deliveries (edition_id, state)`,
      `CREATE TABLE send_locks (
        edition_id   TEXT PRIMARY KEY,
        owner        TEXT NOT NULL,
        acquired_at  TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        expires_at   TEXT NOT NULL
      )`,
    ],
    // Same tables; ids are BIGINT (tokens carry 48-bit ids), read back as numbers (open.ts).
    postgres: [
      `CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      )`,
      `CREATE TABLE subscribers (
        id              BIGINT PRIMARY KEY,
        email           TEXT NOT NULL UNIQUE,
        name            TEXT,
        status          TEXT NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced','complained')),
        midweek         INTEGER NOT NULL DEFAULT 1,
        sunday          INTEGER NOT NULL DEFAULT 1,
        consent_source  TEXT,
        consent_ip      TEXT,
        consent_wording TEXT,
        requested_at    TEXT,
        confirmed_at    TEXT,
        soft_bounces    INTEGER NOT NULL DEFAULT 0,
        last_reply      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      )`,
      `CREATE INDEX subscribers_status ON subscribers (status, id)`,
      `CREATE TABLE suppressions (
        email_hash TEXT PRIMARY KEY,
        reason     TEXT NOT NULL,
        created_at TEXT NOT NULL
      )`,
      `CREATE TABLE editions (
        id          TEXT PRIMARY KEY,
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
      )`,
      `CREATE TABLE deliveries (
        edition_id    TEXT NOT NULL,
        subscriber_id BIGINT NOT NULL,
        email         TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('sending','sent','deferred','failed','bounced','in_doubt','skipped')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_reply    TEXT,
        message_id    TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (edition_id, subscriber_id)
      )`,
      `CREATE INDEX deliveries_state ON deliveries (edition_id, state)`,
      `CREATE TABLE send_locks (
        edition_id   TEXT PRIMARY KEY,
        owner        TEXT NOT NULL,
        acquired_at  TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        expires_at   TEXT NOT NULL
      )`,
    ],
  },
  // 2: several senders on one edition: passes over the recipients and leased claims of id ranges.
  {
    sqlite: [
      `CREATE TABLE send_passes (
        edition_id TEXT NOT NULL PRIMARY KEY,
        pass       INTEGER NOT NULL,
        after_id   INTEGER NOT NULL,
        exhausted  INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL
      )`,
      `CREATE TABLE send_claims (
        edition_id TEXT NOT NULL,
        pass       INTEGER NOT NULL,
        from_id    INTEGER NOT NULL,
        to_id      INTEGER NOT NULL,
        owner      TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        done_at    TEXT,
        PRIMARY KEY (edition_id, pass, from_id)
      )`,
    ],
    postgres: [
      `CREATE TABLE send_passes (
        edition_id TEXT NOT NULL PRIMARY KEY,
        pass       INTEGER NOT NULL,
        after_id   BIGINT NOT NULL,
        exhausted  INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL
      )`,
      `CREATE TABLE send_claims (
        edition_id TEXT NOT NULL,
        pass       INTEGER NOT NULL,
        from_id    BIGINT NOT NULL,
        to_id      BIGINT NOT NULL,
        owner      TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        done_at    TEXT,
        PRIMARY KEY (edition_id, pass, from_id)
      )`,
    ],
  },
  // 3: each send run of an edition, so that `report` shows the runs as they were (a late run to new
  // subscribers keeps its own start and finish). Editions sent before this keep their row's times as run 1.
  {
    sqlite: [
      `CREATE TABLE edition_runs (
        edition_id  TEXT NOT NULL,
        run         INTEGER NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        outcome     TEXT CHECK (outcome IN ('complete','incomplete')),
        sent_before INTEGER,
        sent_after  INTEGER,
        PRIMARY KEY (edition_id, run)
      ) WITHOUT ROWID`,
      `INSERT INTO edition_runs (edition_id, run, started_at, finished_at, outcome)
        SELECT id, 1, started_at, finished_at, CASE WHEN status = 'sent' THEN 'complete' END FROM editions`,
    ],
    postgres: [
      `CREATE TABLE edition_runs (
        edition_id  TEXT NOT NULL,
        run         INTEGER NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        outcome     TEXT CHECK (outcome IN ('complete','incomplete')),
        sent_before INTEGER,
        sent_after  INTEGER,
        PRIMARY KEY (edition_id, run)
      )`,
      `INSERT INTO edition_runs (edition_id, run, started_at, finished_at, outcome)
        SELECT id, 1, started_at, finished_at, CASE WHEN status = 'sent' THEN 'complete' END FROM editions`,
    ],
  },
  // 4: late outcomes (bounces and complaints that arrive after the relay said 250, src/bounces/): two more
  // ledger states, the DSN status, diagnostic, source and arrival time of a copy's late bounce, and the
  // lookups that find a copy again. SQLite cannot change a CHECK constraint in place: the table is rebuilt.
  {
    sqlite: [
      `CREATE TABLE deliveries_v4 (
        edition_id      TEXT NOT NULL,
        subscriber_id   INTEGER NOT NULL,
        email           TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('sending','sent','deferred','failed','bounced','in_doubt','skipped','soft_bounced','complained')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_reply      TEXT,
        message_id      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        late_status     TEXT,
        late_diagnostic TEXT,
        late_source     TEXT,
        late_at         TEXT,
        PRIMARY KEY (edition_id, subscriber_id)
      ) WITHOUT ROWID`,
      `INSERT INTO deliveries_v4 (edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at)
        SELECT edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at FROM deliveries`,
      `DROP TABLE deliveries`,
      `ALTER TABLE deliveries_v4 RENAME TO deliveries`,
      `CREATE INDEX deliveries_state ON deliveries (edition_id, state)`,
      `CREATE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL`,
      `CREATE INDEX deliveries_email ON deliveries (email, created_at)`,
      `CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, created_at)`,
    ],
    postgres: [
      `ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check`,
      `ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
        CHECK (state IN ('sending','sent','deferred','failed','bounced','in_doubt','skipped','soft_bounced','complained'))`,
      `ALTER TABLE deliveries ADD COLUMN late_status TEXT, ADD COLUMN late_diagnostic TEXT, ADD COLUMN late_source TEXT, ADD COLUMN late_at TEXT`,
      `CREATE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL`,
      `CREATE INDEX deliveries_email ON deliveries (email, created_at)`,
      `CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, created_at)`,
    ],
  },
  // 5: opt-in engagement (src/tracking/): each edition's own links, and click/open events.
  {
    sqlite: [
      `CREATE TABLE tracked_links (
        edition_id TEXT NOT NULL,
        link       INTEGER NOT NULL,
        url        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        label      TEXT NOT NULL,
        PRIMARY KEY (edition_id, link)
      ) WITHOUT ROWID`,
      `CREATE TABLE engagement_events (
        id            INTEGER PRIMARY KEY,
        edition_id    TEXT NOT NULL,
        link          INTEGER NOT NULL,
        type          TEXT NOT NULL CHECK (type IN ('click','open')),
        class         TEXT NOT NULL CHECK (class IN ('human','machine')),
        reason        TEXT,
        subscriber_id INTEGER,
        at            TEXT NOT NULL
      )`,
      `CREATE INDEX engagement_events_edition ON engagement_events (edition_id, type, class)`,
      `CREATE INDEX engagement_events_subscriber ON engagement_events (subscriber_id) WHERE subscriber_id IS NOT NULL`,
    ],
    postgres: [
      `CREATE TABLE tracked_links (
        edition_id TEXT NOT NULL,
        link       INTEGER NOT NULL,
        url        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        label      TEXT NOT NULL,
        PRIMARY KEY (edition_id, link)
      )`,
      `CREATE TABLE engagement_events (
        id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        edition_id    TEXT NOT NULL,
        link          INTEGER NOT NULL,
        type          TEXT NOT NULL CHECK (type IN ('click','open')),
        class         TEXT NOT NULL CHECK (class IN ('human','machine')),
        reason        TEXT,
        subscriber_id BIGINT,
        at            TEXT NOT NULL
      )`,
      `CREATE INDEX engagement_events_edition ON engagement_events (edition_id, type, class)`,
      `CREATE INDEX engagement_events_subscriber ON engagement_events (subscriber_id) WHERE subscriber_id IS NOT NULL`,
    ],
  },
  // 6: which scheduler fired an edition (src/store/fires.ts), so that several schedulers on one
  // database fire each edition once per instant and retry it once per retry interval.
  {
    sqlite: [`CREATE TABLE schedule_fires (${SCHEDULE_FIRES_COLUMNS}) WITHOUT ROWID`],
    postgres: [`CREATE TABLE schedule_fires (${SCHEDULE_FIRES_COLUMNS})`],
  },
];

/**
 * Migrations from version 7 on, in order (version = 6 + position + 1). Append; never edit a
 * released one.
 */
const SCHEMA_MIGRATIONS: readonly SchemaMigration[] = [
  // 7: webhook_nonces: the replay cache of signed webhooks (src/store/webhook-nonces.ts), shared by every host on the database.
  {
    async up(tx) {
      await tx.schema
        .createTable('webhook_nonces')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_nonces_pkey', ['provider', 'nonce'])
        .execute();
      await tx.schema.createIndex('webhook_nonces_expires').on('webhook_nonces').column('expires_at').execute();
    },
  },
  // 8: a bounce or complaint suppression can be lifted (src/store/suppression.ts); the subscriber row
  // records the last lift: when, by whom ('operator' or 'confirmation') and what it was.
  {
    async up(tx) {
      for (const column of ['suppression_lifted_at', 'suppression_lifted_by', 'suppression_lifted_from']) {
        await tx.schema.alterTable('subscribers').addColumn(column, 'text').execute();
      }
    },
  },
  // 9: the edition as the editors' object (src/store/stored-editions.ts): each edition as it was frozen
  // (composition, rendering, hash) at approval or at its first copy, and sent as stored from then on;
  // its history (audit log); and the review copies sent to the editors.
  {
    async up(tx, dialect) {
      await tx.schema
        .createTable('stored_editions')
        .addColumn('edition_id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('send_at', 'text', (c) => c.notNull())
        .addColumn('composition', 'text', (c) => c.notNull())
        .addColumn('composition_hash', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('preheader', 'text', (c) => c.notNull())
        .addColumn('html', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('news_count', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('frozen','approved','held')`))
        .addColumn('frozen_at', 'text', (c) => c.notNull())
        .addColumn('approved_by', 'text')
        .addColumn('approved_at', 'text')
        .addColumn('first_copy_at', 'text')
        .execute();
      // An identity column is the one difference: SQLite's INTEGER PRIMARY KEY is its rowid, PostgreSQL needs IDENTITY.
      await tx.schema
        .createTable('edition_audit')
        .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => (dialect === 'postgres' ? c.generatedByDefaultAsIdentity().primaryKey() : c.primaryKey()))
        .addColumn('edition_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('who', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .execute();
      await tx.schema.createIndex('edition_audit_edition').on('edition_audit').columns(['edition_id', 'id']).execute();
      await tx.schema
        .createTable('edition_reviews')
        .addColumn('edition_id', 'text', (c) => c.notNull())
        .addColumn('composition_key', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('edition_reviews_pk', ['edition_id', 'composition_key', 'email'])
        .execute();
    },
  },
  // 10: the editors' desk (src/web/desk/): who may enter, their emailed sign-in links and sessions
  // (only SHA-256 hashes of the secrets), and the audit log of what they changed.
  { up: createDeskTables },
];

/** Migration 10's tables (the desk), written with the schema builder for both databases. */
async function createDeskTables(tx: Tx, dialect: DialectName): Promise<void> {
  await tx.schema
    .createTable('editors')
    .addColumn('email', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('editor','admin')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await tx.schema
    .createTable('desk_sign_in_links')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  await tx.schema.createIndex('desk_sign_in_links_email').on('desk_sign_in_links').columns(['email', 'created_at']).execute();
  await tx.schema
    .createTable('desk_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await tx.schema.createIndex('desk_sessions_email').on('desk_sessions').column('email').execute();
  // The id: SQLite's INTEGER PRIMARY KEY is its rowid (allocated on insert); PostgreSQL needs an identity column.
  await tx.schema
    .createTable('desk_audit')
    .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await tx.schema.createIndex('desk_audit_subject').on('desk_audit').columns(['subject', 'id']).execute();
}

/** Every migration in order; version N is `MIGRATIONS[N - 1]`. */
export const MIGRATIONS: readonly (RawMigration | SchemaMigration)[] = [...RAW_MIGRATIONS, ...SCHEMA_MIGRATIONS];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

async function applyMigration(migration: RawMigration | SchemaMigration, store: Store, tx: Tx): Promise<void> {
  if ('up' in migration) return migration.up(tx, store.dialect);
  for (const statement of migration[store.dialect]) await sql.raw(statement).execute(tx);
}

/** The database was migrated by a newer Almanac; this one must not touch it. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(`database schema version ${found} is newer than this Almanac's (${supported}); upgrade Almanac`);
  }
}

/** The store's schema version (0 for an empty database). */
export async function schemaVersion(store: Store): Promise<number> {
  return transaction(store, (tx) => readSchemaVersion(store, tx));
}

/**
 * Applies every pending migration, each in its own transaction, one process at a time; refuses a
 * database newer than the code. Returns the version before and after.
 */
export async function migrate(store: Store): Promise<{ before: number; after: number }> {
  let before: number | undefined;
  for (;;) {
    const step = await transaction(store, async (tx) => {
      await serialiseMigrations(store, tx);
      const current = await readSchemaVersion(store, tx);
      before ??= current;
      if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current, SCHEMA_VERSION);
      if (current === SCHEMA_VERSION) return { done: true, version: current };
      await applyMigration(MIGRATIONS[current]!, store, tx);
      await writeSchemaVersion(store, tx, current + 1);
      return { done: false, version: current + 1 };
    });
    if (step.done) return { before: before!, after: step.version };
  }
}
