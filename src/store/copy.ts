import { sql } from 'kysely';
import { transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import type { Database } from './schema.ts';

/** The tables `db copy` moves, with their primary keys and rows per page (editions carry whole HTML copies). */
const COPIED: readonly { table: keyof Database; keys: readonly string[]; page: number }[] = [
  { table: 'settings', keys: ['key'], page: 1000 },
  { table: 'subscribers', keys: ['id'], page: 1000 },
  { table: 'suppressions', keys: ['email_hash'], page: 1000 },
  { table: 'editions', keys: ['id'], page: 20 },
  { table: 'deliveries', keys: ['edition_id', 'subscriber_id'], page: 1000 },
  { table: 'edition_runs', keys: ['edition_id', 'run'], page: 1000 },
  { table: 'tracked_links', keys: ['edition_id', 'link'], page: 1000 },
  { table: 'engagement_events', keys: ['id'], page: 1000 },
  // Copied so a webhook replayed to the new database is still refused within its signature's lifetime.
  { table: 'webhook_nonces', keys: ['provider', 'nonce'], page: 1000 },
  { table: 'stored_editions', keys: ['edition_id'], page: 20 },
  { table: 'edition_audit', keys: ['id'], page: 1000 },
  { table: 'edition_reviews', keys: ['edition_id', 'composition_key', 'email'], page: 1000 },
  // Who may use the desk, and the record of what was done there. Their sign-in links and sessions are not
  // copied: they are live credentials, and editors sign in again on the new database (see README).
  { table: 'editors', keys: ['email'], page: 1000 },
  { table: 'desk_audit', keys: ['id'], page: 1000 },
];

/** Every table of the schema: the target must have no row in any of them. */
const ALL_TABLES: readonly (keyof Database)[] = ['settings', 'subscribers', 'suppressions', 'editions', 'deliveries', 'send_locks', 'send_passes', 'send_claims', 'edition_runs', 'tracked_links', 'engagement_events', 'schedule_fires', 'stored_editions', 'edition_audit', 'edition_reviews', 'webhook_nonces', 'editors', 'desk_sign_in_links', 'desk_sessions', 'desk_audit'];

/** The target database already holds data; nothing was copied. */
export class CopyRefusedError extends Error {
  override name = 'CopyRefusedError';
}

/** Rows per table after a copy (source and target agree, or the copy was rolled back). */
export type CopyCounts = Record<string, number>;

/**
 * Copies everything `db copy` keeps (subscribers with their consent records and soft-bounce counts,
 * suppressions, the ledger, the archive, the stored (frozen) editions with their history and review
 * copies, settings such as the signing secret and the last id) from
 * `source` into an EMPTY `target` at the same schema version, in one target transaction, then
 * checks that every table has as many rows on both sides before committing. Send locks, claims and
 * scheduler fires are transient and not copied, nor are the desk's sign-in links and sessions (credentials).
 */
export async function copyDatabase(source: Store, target: Store, onTable?: (table: string, rows: number) => void): Promise<CopyCounts> {
  return transaction(target, async (tx) => {
    for (const table of ALL_TABLES) {
      const n = await countRows(tx, table);
      if (n > 0) throw new CopyRefusedError(`the target database is not empty (table ${table} has ${n} row${n === 1 ? '' : 's'}); copy only into an empty database`);
    }
    const counts: CopyCounts = {};
    for (const { table, keys, page } of COPIED) {
      let copied = 0;
      for await (const rows of pages(source, table, keys, page)) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        await tx.insertInto(table).values(rows as any).execute();
        copied += rows.length;
      }
      const [inSource, inTarget] = [await countRows(source.db, table), await countRows(tx, table)];
      if (inSource !== inTarget || copied !== inSource) {
        throw new Error(`copy of table ${table} does not add up: ${inSource} rows in the source, ${copied} read, ${inTarget} in the target; nothing was copied`);
      }
      counts[table] = inTarget;
      onTable?.(table, inTarget);
    }
    // Rows copied with their ids leave PostgreSQL's identity sequence behind: move it past them.
    if (target.dialect === 'postgres') {
      for (const table of ['engagement_events', 'edition_audit', 'desk_audit']) {
        await sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM ${sql.table(table)}), false)`.execute(tx);
      }
    }
    return counts;
  });
}

async function countRows(tx: Tx, table: keyof Database): Promise<number> {
  const row = await tx
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The rows of a table in primary-key order, a page at a time (keyset paging: never the whole table in memory). */
async function* pages(store: Store, table: keyof Database, keys: readonly string[], size: number): AsyncGenerator<Record<string, unknown>[]> {
  let after: Record<string, unknown> | undefined;
  for (;;) {
    // Row-value comparison `(a, b) > (x, y)` works the same on SQLite (≥ 3.15) and PostgreSQL.
    const where = after
      ? sql`WHERE (${sql.join(keys.map((k) => sql.ref(k)))}) > (${sql.join(keys.map((k) => after![k]))})`
      : sql``;
    const { rows } = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)} ${where} ORDER BY ${sql.join(keys.map((k) => sql.ref(k)))} LIMIT ${size}`.execute(store.db);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < size) return;
    after = rows.at(-1);
  }
}
