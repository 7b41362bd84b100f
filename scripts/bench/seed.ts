/** Synthetic subscribers for the benches, written straight into the store in a few large statements. */
import type { Insertable } from 'kysely';
import { ROWS_PER_STATEMENT, transaction } from '../../src/store/dialect.ts';
import type { Tx } from '../../src/store/handle.ts';
import type { SubscribersTable } from '../../src/store/schema.ts';
import { withStore } from './database.ts';

/** A synthetic subscriber's address. */
export function benchAddress(id: number): string {
  return `reader${String(id).padStart(7, '0')}@bench.example`;
}

/** The ids 1..n in consecutive ranges `[from, to]` of at most ROWS_PER_STATEMENT (one multi-row insert each). */
export function* idPages(n: number): Generator<{ from: number; to: number }> {
  for (let from = 1; from <= n; from += ROWS_PER_STATEMENT) yield { from, to: Math.min(n, from + ROWS_PER_STATEMENT - 1) };
}

/** Active Midweek+Sunday subscribers with ids `from..to`, in rows matching SubscriberStore's. */
export function subscriberRows(from: number, to: number, now: string): Insertable<SubscribersTable>[] {
  const rows: Insertable<SubscribersTable>[] = [];
  for (let id = from; id <= to; id++) {
    rows.push({
      id,
      email: benchAddress(id),
      name: null,
      status: 'active',
      midweek: 1,
      sunday: 1,
      consent_source: 'import',
      consent_ip: null,
      consent_wording: null,
      requested_at: now,
      confirmed_at: now,
      last_reply: null,
      created_at: now,
      updated_at: now,
    });
  }
  return rows;
}

/** Inserts `n` active subscribers (ids 1..n) inside `tx`, without touching the id high-water mark. */
export async function insertSubscribers(tx: Tx, n: number, now = new Date().toISOString()): Promise<void> {
  for (const { from, to } of idPages(n)) await tx.insertInto('subscribers').values(subscriberRows(from, to, now)).execute();
}

/** Inserts `n` active Midweek+Sunday subscribers (ids 1..n) in one transaction, with rows matching SubscriberStore's (SQLite file or PostgreSQL URL). */
export async function seedDatabase(target: string, n: number): Promise<{ ms: number }> {
  const started = performance.now();
  await withStore(target, (store) =>
    transaction(store, async (tx) => {
      await insertSubscribers(tx, n);
      // The store never reuses an id: keep its high-water mark in step.
      await tx
        .insertInto('settings')
        .values({ key: 'subscribers.last_id', value: String(n) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(n) }))
        .execute();
    }),
  );
  return { ms: performance.now() - started };
}
