import { sql } from 'kysely';
import { deliveryFromRow } from './delivery-row.ts';
import type { Store } from './handle.ts';
import type { Delivery } from './types.ts';

// Read-only queries the editors' desk needs beside the ones the rest of the program shares.

/** Subscribers who joined and who left on one UTC day. */
export interface DayChanges {
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** Confirmed that day (form confirmations, operator adds, imports), whatever their status now. */
  joined: number;
  /** Unsubscribed, bounced or complained now, counted on the day of their last change (no history is kept of earlier changes). */
  left: number;
}

/** Joins and departures per day since `since` (days with neither are absent). */
export async function subscriberChangesByDay(store: Store, since: Date): Promise<DayChanges[]> {
  const from = since.toISOString();
  // substr() of ISO 8601 text is its UTC day, the same on SQLite and PostgreSQL.
  const joined = await store.db
    .selectFrom('subscribers')
    .select([sql<string>`substr(confirmed_at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('confirmed_at', '>=', from)
    .groupBy(sql`substr(confirmed_at, 1, 10)`)
    .execute();
  const left = await store.db
    .selectFrom('subscribers')
    .select([sql<string>`substr(updated_at, 1, 10)`.as('day'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['unsubscribed', 'bounced', 'complained'])
    .where('updated_at', '>=', from)
    .groupBy(sql`substr(updated_at, 1, 10)`)
    .execute();
  const days = new Map<string, DayChanges>();
  const at = (day: string) => days.get(day) ?? days.set(day, { day, joined: 0, left: 0 }).get(day)!;
  for (const r of joined) at(r.day).joined = Number(r.n);
  for (const r of left) at(r.day).left = Number(r.n);
  return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
}

/** A subscriber's copies in the ledger, newest first (at most `limit`). */
export async function deliveriesOf(store: Store, subscriberId: number, limit = 30): Promise<Delivery[]> {
  const rows = await store.db.selectFrom('deliveries').selectAll().where('subscriber_id', '=', subscriberId).orderBy('created_at', 'desc').limit(limit).execute();
  return rows.map(deliveryFromRow);
}

/** Which scheduler fired an edition, and when (the latest first): what every scheduler on the database has done. */
export interface FireRecord {
  editionId: string;
  owner: string;
  running: boolean;
  firedAt: string;
  attempts: number;
}

/** The latest scheduler fires on the database. */
export async function recentFires(store: Store, limit = 5): Promise<FireRecord[]> {
  const rows = await store.db.selectFrom('schedule_fires').selectAll().orderBy('fired_at', 'desc').limit(limit).execute();
  return rows.map((r) => ({ editionId: r.edition_id, owner: r.owner, running: r.running === 1, firedAt: r.fired_at, attempts: Number(r.attempts) }));
}

/** The `editions` row's status of each id that has one (a send started). */
export async function editionStatuses(store: Store, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await store.db.selectFrom('editions').select(['id', 'status']).where('id', 'in', [...ids]).execute();
  return new Map(rows.map((r) => [r.id, r.status]));
}
