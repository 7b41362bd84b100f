import type { Insertable } from 'kysely';
import { ROWS_PER_STATEMENT, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import type { EngagementEventsTable } from './schema.ts';

// Queries of opt-in engagement (src/tracking/): each edition's own links and the click/open events.

/** One link of an edition a tracked URL may lead to. */
export interface TrackedLink {
  link: number;
  url: string;
  kind: 'news' | 'guide' | 'honeypot';
  label: string;
}

/** One event as the tracker records it (no IP, no user agent; a subscriber only when personal). */
export type EngagementEvent = Insertable<EngagementEventsTable>;

/**
 * Adds an edition's links (written when the edition is rendered for sending). A link once saved is
 * never changed or removed: tokens in copies already sent name it by number. (Two processes saving
 * at once write the same numbers for the same HTML; the first wins, the same row.)
 */
export async function saveEditionLinks(store: Store, editionId: string, links: readonly TrackedLink[]): Promise<void> {
  await transaction(store, async (tx) => {
    for (let i = 0; i < links.length; i += ROWS_PER_STATEMENT) {
      const rows = links.slice(i, i + ROWS_PER_STATEMENT).map((l) => ({ edition_id: editionId, link: l.link, url: l.url, kind: l.kind, label: l.label }));
      await tx.insertInto('tracked_links').values(rows).onConflict((oc) => oc.columns(['edition_id', 'link']).doNothing()).execute();
    }
  });
}

/** An edition's links in link order (empty when it was never rendered with tracking on). */
export async function editionLinks(store: Store, editionId: string): Promise<TrackedLink[]> {
  const rows = await store.db.selectFrom('tracked_links').select(['link', 'url', 'kind', 'label']).where('edition_id', '=', editionId).orderBy('link').execute();
  return rows.map((r) => ({ link: r.link, url: r.url, kind: r.kind as TrackedLink['kind'], label: r.label }));
}

/** Writes many events in one transaction, a few multi-row statements (the tracker batches clicks; never one transaction per click). */
export async function insertEngagementEvents(store: Store, events: readonly EngagementEvent[]): Promise<void> {
  if (events.length === 0) return;
  // 8 values a row: 500 rows stay far below both databases' bound-parameter limits.
  await transaction(store, async (tx) => {
    for (let i = 0; i < events.length; i += ROWS_PER_STATEMENT) await tx.insertInto('engagement_events').values(events.slice(i, i + ROWS_PER_STATEMENT)).execute();
  });
}

/** Event counts of an edition by type, class, reason and link; unique readers where events are personal. */
export interface EngagementCountRow {
  type: 'click' | 'open';
  class: 'human' | 'machine';
  reason: string | null;
  link: number;
  events: number;
  readers: number;
}

/** Counts of an edition's events, grouped by type, class, reason and link. */
export async function engagementCounts(store: Store, editionId: string): Promise<EngagementCountRow[]> {
  const rows = await store.db
    .selectFrom('engagement_events')
    .select((eb) => [
      'type',
      'class',
      'reason',
      'link',
      eb.fn.countAll<number>().as('events'),
      eb.fn.count<number>('subscriber_id').distinct().as('readers'),
    ])
    .where('edition_id', '=', editionId)
    .groupBy(['type', 'class', 'reason', 'link'])
    .orderBy('type')
    .orderBy('class')
    .orderBy('link')
    .execute();
  return rows.map((r) => ({ ...r, events: Number(r.events), readers: Number(r.readers) }));
}

/** Distinct readers of an edition with at least one human event of `type` (personal events only). */
export async function uniqueReaders(store: Store, editionId: string, type: 'click' | 'open'): Promise<number> {
  const row = await store.db
    .selectFrom('engagement_events')
    .select((eb) => eb.fn.count<number>('subscriber_id').distinct().as('n'))
    .where('edition_id', '=', editionId)
    .where('type', '=', type)
    .where('class', '=', 'human')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** When this edition was last delivered: to one subscriber (personal tokens), or its most recent copy to anyone. */
export async function lastDeliveredAt(store: Store, editionId: string, subscriberId?: number): Promise<string | undefined> {
  let query = store.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.max('updated_at').as('at'))
    .where('edition_id', '=', editionId)
    .where('state', '=', 'sent');
  if (subscriberId !== undefined) query = query.where('subscriber_id', '=', subscriberId);
  const row = await query.executeTakeFirst();
  return row?.at ?? undefined;
}

/** One personal event, as `subscribers export` shows it. */
export interface PersonalEngagement {
  editionId: string;
  type: 'click' | 'open';
  url: string | null;
  class: 'human' | 'machine';
  reason: string | null;
  at: string;
}

/** A subscriber's personal events (those recorded with ALMANAC_TRACKING_PERSONAL=true), oldest first. */
export async function subscriberEngagement(store: Store, subscriberId: number): Promise<PersonalEngagement[]> {
  const rows = await store.db
    .selectFrom('engagement_events as e')
    .leftJoin('tracked_links as l', (join) => join.onRef('l.edition_id', '=', 'e.edition_id').onRef('l.link', '=', 'e.link'))
    .select(['e.edition_id', 'e.type', 'l.url', 'e.class', 'e.reason', 'e.at'])
    .where('e.subscriber_id', '=', subscriberId)
    .orderBy('e.at')
    .orderBy('e.id')
    .execute();
  return rows.map((r) => ({ editionId: r.edition_id, type: r.type, url: r.url ?? null, class: r.class, reason: r.reason, at: r.at }));
}

/** Deletes a subscriber's personal events inside the caller's transaction (erasure); returns how many. */
export async function eraseEngagementIn(tx: Tx, subscriberId: number): Promise<number> {
  const result = await tx.deleteFrom('engagement_events').where('subscriber_id', '=', subscriberId).executeTakeFirst();
  return Number(result.numDeletedRows ?? 0n);
}

/** Copies accepted per minute (the ledger's 'sent' rows by the minute they were recorded), oldest first. */
export async function deliveriesPerMinute(store: Store, editionId: string): Promise<{ minute: string; copies: number }[]> {
  const rows = await store.db
    .selectFrom('deliveries')
    .select((eb) => [eb.fn<string>('substr', ['updated_at', eb.val(1), eb.val(16)]).as('minute'), eb.fn.countAll<number>().as('copies')])
    .where('edition_id', '=', editionId)
    .where('state', '=', 'sent')
    .groupBy('minute')
    .orderBy('minute')
    .execute();
  return rows.map((r) => ({ minute: r.minute, copies: Number(r.copies) }));
}

/** Every personal event in subscriber-id order, a page at a time (the export's merge join). */
export async function* personalEngagementHistory(store: Store, page = 1000): AsyncGenerator<PersonalEngagement & { subscriberId: number }> {
  let after: { subscriberId: number; id: number } | undefined;
  for (;;) {
    let query = store.db
      .selectFrom('engagement_events as e')
      .leftJoin('tracked_links as l', (join) => join.onRef('l.edition_id', '=', 'e.edition_id').onRef('l.link', '=', 'e.link'))
      .select(['e.id', 'e.subscriber_id', 'e.edition_id', 'e.type', 'l.url', 'e.class', 'e.reason', 'e.at'])
      .where('e.subscriber_id', 'is not', null);
    if (after) {
      const a = after;
      query = query.where((eb) => eb.or([eb('e.subscriber_id', '>', a.subscriberId), eb.and([eb('e.subscriber_id', '=', a.subscriberId), eb('e.id', '>', a.id)])]));
    }
    const rows = await query.orderBy('e.subscriber_id').orderBy('e.id').limit(page).execute();
    for (const r of rows) yield { subscriberId: r.subscriber_id!, editionId: r.edition_id, type: r.type, url: r.url ?? null, class: r.class, reason: r.reason, at: r.at };
    if (rows.length < page) return;
    after = { subscriberId: rows.at(-1)!.subscriber_id!, id: rows.at(-1)!.id };
  }
}
