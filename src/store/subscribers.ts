import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Kind } from '../config.ts';
import { hashEmail, isValidEmail, normaliseEmail } from '../subscribers/email.ts';
import { eraseEngagementIn, personalEngagementHistory, type PersonalEngagement } from './engagement.ts';
import { afterErase, lockRows, retryOnUniqueViolation, transaction } from './dialect.ts';
import { deliveryFromRow } from './delivery-row.ts';
import type { Store, Tx } from './handle.ts';
import type { SubscribersTable } from './schema.ts';
import {
  CONFIRMATION_RESEND_MS,
  editionsOf,
  ERASED_EMAIL,
  STATUSES,
  SubscriberError,
  type DeliveryRecord,
  type EraseOutcome,
  type FormSubscription,
  type SubscribeOutcome,
  type Subscriber,
  type SubscriberCounts,
  type SubscriberInput,
  type SubscriberState,
  type SubscriberStatus,
  type SuppressionLift,
  type UnsuppressOutcome,
} from './types.ts';
import { isLiftable, liftSuppressionIn, suppressionReasonIn, suppressionReasonsAmong } from './suppression.ts';

type Row = Selectable<SubscribersTable>;

function toSubscriber(row: Row): Subscriber {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    midweek: row.midweek === 1,
    sunday: row.sunday === 1,
    consent: {
      source: row.consent_source as Subscriber['consent']['source'],
      ip: row.consent_ip,
      wording: row.consent_wording,
      requestedAt: row.requested_at,
      confirmedAt: row.confirmed_at,
    },
    softBounces: row.soft_bounces,
    lastReply: row.last_reply,
    suppressionLifted: row.suppression_lifted_at
      ? { at: row.suppression_lifted_at, by: row.suppression_lifted_by as SuppressionLift['by'], from: row.suppression_lifted_from as SuppressionLift['from'] }
      : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function flags(editions: Kind[]): { midweek: number; sunday: number } {
  return { midweek: editions.includes('midweek') ? 1 : 0, sunday: editions.includes('sunday') ? 1 : 0 };
}

const SETTING_LAST_ID = 'subscribers.last_id';
/** Rows read per query when streaming the whole list (never the whole list in memory). */
const STREAM_PAGE = 1000;

// Operations on subscribers inside a caller's transaction, shared with the ledger's batched commit.

/** Suppresses a subscriber ('bounced' or 'complained') and adds the address hash to suppressions. */
export async function suppressIn(store: Store, tx: Tx, id: number, status: 'bounced' | 'complained', reply: string, now: string): Promise<void> {
  const row = await lockRows(store, tx.selectFrom('subscribers').select('email').where('id', '=', id)).executeTakeFirst();
  if (!row) return;
  await suppressLockedIn(tx, { id, email: row.email }, status, reply, now);
}

/** suppressIn for a subscriber the caller already read and holds locked (subscriberIn with lock): one read fewer. */
export async function suppressLockedIn(tx: Tx, subscriber: { id: number; email: string }, status: 'bounced' | 'complained', reply: string, now: string): Promise<void> {
  await tx.updateTable('subscribers').set({ status, last_reply: reply, updated_at: now }).where('id', '=', subscriber.id).execute();
  await addSuppressionIn(tx, subscriber.email, status, now);
}

/** Counts one consecutive soft bounce; suppresses as 'bounced' at `limit`; true if suppressed. */
export async function recordSoftBounceIn(store: Store, tx: Tx, id: number, reply: string, limit: number, now: string): Promise<boolean> {
  const row = await tx
    .updateTable('subscribers')
    .set((eb) => ({ soft_bounces: eb('soft_bounces', '+', 1), last_reply: reply, updated_at: now }))
    .where('id', '=', id)
    .returning('soft_bounces')
    .executeTakeFirst();
  if (!row || row.soft_bounces < limit) return false;
  await suppressIn(store, tx, id, 'bounced', reply, now);
  return true;
}

/** The subscriber with this id, read inside a caller's transaction; `lock` holds its row (PostgreSQL) until the transaction ends. */
export async function subscriberIn(store: Store, tx: Tx, id: number, lock = false): Promise<Subscriber | undefined> {
  const query = tx.selectFrom('subscribers').selectAll().where('id', '=', id);
  const row = await (lock ? lockRows(store, query) : query).executeTakeFirst();
  return row && toSubscriber(row);
}

/**
 * Sets the soft-bounce count from the ledger's run of late soft bounces (src/store/late.ts); never
 * lowers it (the SMTP-time count may be ahead). Returns the count now kept (0 when the row is gone).
 * CASE rather than max()/greatest(): one text that SQLite and PostgreSQL both accept.
 */
export async function setSoftBouncesIn(tx: Tx, id: number, count: number, reply: string, now: string): Promise<number> {
  const row = await tx
    .updateTable('subscribers')
    .set((eb) => ({
      soft_bounces: eb.case().when('soft_bounces', '>', count).then(eb.ref('soft_bounces')).else(count).end(),
      last_reply: reply,
      updated_at: now,
    }))
    .where('id', '=', id)
    .returning('soft_bounces')
    .executeTakeFirst();
  return row?.soft_bounces ?? 0;
}

/** A delivered message ends a run of soft bounces (several subscribers in one statement). */
export async function resetSoftBouncesIn(tx: Tx, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.updateTable('subscribers').set({ soft_bounces: 0 }).where('id', 'in', ids).where('soft_bounces', '<>', 0).execute();
}

async function addSuppressionIn(tx: Tx, email: string, reason: string, now: string): Promise<boolean> {
  const result = await tx
    .insertInto('suppressions')
    .values({ email_hash: hashEmail(email), reason, created_at: now })
    .onConflict((oc) => oc.column('email_hash').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * The subscriber list and the suppression list, async, written once for SQLite and PostgreSQL.
 * Every operation that reads and then writes runs in one transaction and locks the row it reads
 * (dialect.ts), so web servers on several hosts agree.
 */
export class SubscriberStore {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private now(): string {
    return this.clock().toISOString();
  }

  /** Active subscribers of a kind with id > afterId, in id order, at most `limit` (keyset paging). */
  async activeBatch(kind: Kind, afterId: number, limit: number): Promise<{ id: number; email: string; name: string | null }[]> {
    return this.activeOf(kind).where('id', '>', afterId).limit(limit).execute();
  }

  /** Active subscribers of a kind with ids in [fromId, toId], in id order (one claim's recipients, see claims.ts). */
  async activeBetween(kind: Kind, fromId: number, toId: number): Promise<{ id: number; email: string; name: string | null }[]> {
    return this.activeOf(kind).where('id', '>=', fromId).where('id', '<=', toId).execute();
  }

  /** The recipients' query: active subscribers of a kind, in id order. */
  private activeOf(kind: Kind) {
    return this.store.db.selectFrom('subscribers').select(['id', 'email', 'name']).where('status', '=', 'active').where(kind, '=', 1).orderBy('id');
  }

  /** How many active subscribers receive a kind. */
  async countActive(kind: Kind): Promise<number> {
    const row = await this.store.db
      .selectFrom('subscribers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'active')
      .where(kind, '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The subscriber with this id. */
  async get(id: number): Promise<Subscriber | undefined> {
    return this.getIn(this.store.db, id);
  }

  /** The subscriber with this address, in any case. */
  async findByEmail(email: string): Promise<Subscriber | undefined> {
    return this.findIn(this.store.db, normaliseEmail(email));
  }

  private async getIn(tx: Tx, id: number, lock = false): Promise<Subscriber | undefined> {
    const query = tx.selectFrom('subscribers').selectAll().where('id', '=', id);
    const row = await (lock ? lockRows(this.store, query) : query).executeTakeFirst();
    return row && toSubscriber(row);
  }

  private async findIn(tx: Tx, normal: string, lock = false): Promise<Subscriber | undefined> {
    const query = tx.selectFrom('subscribers').selectAll().where('email', '=', normal);
    const row = await (lock ? lockRows(this.store, query) : query).executeTakeFirst();
    return row && toSubscriber(row);
  }

  /** Hard bounce (5.1.x) or complaint: status changes and the address hash goes into suppressions. */
  async suppress(id: number, status: 'bounced' | 'complained', reply: string): Promise<void> {
    await transaction(this.store, (tx) => suppressIn(this.store, tx, id, status, reply, this.now()));
  }

  /** Counts a consecutive soft bounce; suppresses as 'bounced' when it reaches `limit`; returns true if suppressed. */
  async recordSoftBounce(id: number, reply: string, limit: number): Promise<boolean> {
    return transaction(this.store, (tx) => recordSoftBounceIn(this.store, tx, id, reply, limit, this.now()));
  }

  /** Sets the soft-bounce count from the ledger's run of late soft bounces; never lowers it. Returns the count kept. */
  async setSoftBounces(id: number, count: number, reply: string): Promise<number> {
    return setSoftBouncesIn(this.store.db, id, count, reply, this.now());
  }

  /** A delivered message ends a run of soft bounces. */
  async resetSoftBounces(id: number): Promise<void> {
    await resetSoftBouncesIn(this.store.db, [id]);
  }

  /** True when the address must never be mailed (erased, hard-bounced or complained). */
  async isSuppressed(email: string): Promise<boolean> {
    return this.isSuppressedIn(this.store.db, normaliseEmail(email));
  }

  private async isSuppressedIn(tx: Tx, normal: string): Promise<boolean> {
    const hit = await tx.selectFrom('suppressions').select('email_hash').where('email_hash', '=', hashEmail(normal)).executeTakeFirst();
    if (hit) return true;
    const s = await this.findIn(tx, normal);
    return s?.status === 'bounced' || s?.status === 'complained';
  }

  /**
   * Inserts a new row with an id never used before (ids are in unsubscribe links, so an erased id
   * must not come back). The `subscribers.last_id` row is locked while the id is chosen, so two
   * PostgreSQL transactions inserting at once take turns.
   */
  private async insertIn(tx: Tx, values: Omit<Insertable<SubscribersTable>, 'id' | 'created_at' | 'updated_at'>): Promise<Subscriber> {
    await tx.insertInto('settings').values({ key: SETTING_LAST_ID, value: '0' }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const kept = await lockRows(this.store, tx.selectFrom('settings').select('value').where('key', '=', SETTING_LAST_ID)).executeTakeFirstOrThrow();
    const max = await tx
      .selectFrom('subscribers')
      .select((eb) => eb.fn.max<number | null>('id').as('m'))
      .executeTakeFirstOrThrow();
    const id = Math.max(Number(kept.value), Number(max.m ?? 0)) + 1;
    await tx.updateTable('settings').set({ value: String(id) }).where('key', '=', SETTING_LAST_ID).execute();
    const now = this.now();
    await tx
      .insertInto('subscribers')
      .values({ ...values, id, created_at: now, updated_at: now })
      .execute();
    return (await this.getIn(tx, id))!;
  }

  private async updateIn(tx: Tx, id: number, values: Omit<Updateable<SubscribersTable>, 'id' | 'email' | 'created_at' | 'updated_at'>): Promise<Subscriber> {
    await tx
      .updateTable('subscribers')
      .set({ ...values, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
    return (await this.getIn(tx, id))!;
  }

  private validInput(input: SubscriberInput): { email: string; name: string | null } {
    const email = normaliseEmail(input.email);
    if (!isValidEmail(email)) throw new SubscriberError(`invalid email address ${JSON.stringify(input.email)}`);
    if (input.editions.length === 0) throw new SubscriberError(`no edition chosen for ${email}: expected midweek, sunday or both`);
    const name = input.name?.trim() ? input.name.trim().slice(0, 200) : null;
    return { email, name };
  }

  /** Operator-added subscriber: active at once, consent source 'operator'. Refuses suppressed addresses. */
  async add(input: SubscriberInput): Promise<{ result: 'added' | 'updated' | 'unchanged' | 'suppressed'; subscriber: Subscriber | undefined }> {
    const { email, name } = this.validInput(input);
    return retryOnUniqueViolation(() =>
      transaction(this.store, async (tx) => {
        if (await this.isSuppressedIn(tx, email)) return { result: 'suppressed' as const, subscriber: undefined };
        const now = this.now();
        const consent = { consent_source: 'operator', consent_ip: null, consent_wording: null, requested_at: now, confirmed_at: now };
        const existing = await this.findIn(tx, email, true);
        if (!existing) {
          return { result: 'added' as const, subscriber: await this.insertIn(tx, { email, name, status: 'active', ...flags(input.editions), ...consent }) };
        }
        const wanted = flags(input.editions);
        const same =
          existing.status === 'active' &&
          (name === null || name === existing.name) &&
          Number(existing.midweek) === wanted.midweek &&
          Number(existing.sunday) === wanted.sunday;
        if (same) return { result: 'unchanged' as const, subscriber: existing };
        const subscriber = await this.updateIn(tx, existing.id, { name: name ?? existing.name, status: 'active', ...wanted, ...consent });
        return { result: 'updated' as const, subscriber };
      }),
    );
  }

  /** One imported row: added as active with consent source 'import'; an address already held is left exactly as it is. */
  async importOne(input: SubscriberInput): Promise<'added' | 'present' | 'suppressed'> {
    const { email, name } = this.validInput(input);
    return retryOnUniqueViolation(() =>
      transaction(this.store, async (tx) => {
        if (await this.isSuppressedIn(tx, email)) return 'suppressed' as const;
        if (await this.findIn(tx, email)) return 'present' as const;
        await this.insertIn(tx, {
          email,
          name,
          status: 'active',
          ...flags(input.editions),
          consent_source: 'import',
          consent_ip: null,
          consent_wording: null,
          requested_at: this.now(),
          confirmed_at: null,
        });
        return 'added' as const;
      }),
    );
  }

  /**
   * A subscription through the public form. Active subscribers and erased addresses are left
   * unchanged and get no email; anyone else (new, pending, unsubscribed, or suppressed by a bounce or
   * complaint) becomes pending with a fresh consent record and gets a confirmation (at most one per
   * CONFIRMATION_RESEND_MS). A bounce or complaint suppression stays on the suppression list until
   * the link is confirmed (store/confirm.ts lifts it). The caller answers the same way in every case.
   */
  async subscribe(input: FormSubscription): Promise<SubscribeOutcome> {
    const { email, name } = this.validInput(input);
    return retryOnUniqueViolation(() =>
      transaction(this.store, async (tx) => {
        const now = this.now();
        const consent = { consent_source: 'form', consent_ip: input.ip, consent_wording: input.wording, requested_at: now, confirmed_at: null };
        const existing = await this.findIn(tx, email, true);
        const reason = await suppressionReasonIn(tx, email);
        if (!existing) {
          // A hash without a row is an erased person's (or one erased after a bounce): never asked again.
          if (reason !== undefined) return { sendConfirmation: false, subscriber: undefined };
          const subscriber = await this.insertIn(tx, { email, name, status: 'pending', ...flags(input.editions), ...consent });
          return { sendConfirmation: true, subscriber };
        }
        if ((reason !== undefined && !isLiftable(reason)) || existing.status === 'active') return { sendConfirmation: false, subscriber: existing };
        const last = existing.status === 'pending' ? Date.parse(existing.consent.requestedAt ?? '') : NaN;
        const recent = Number.isFinite(last) && this.clock().getTime() - last < CONFIRMATION_RESEND_MS;
        const subscriber = await this.updateIn(tx, existing.id, { name: name ?? existing.name, status: 'pending', ...flags(input.editions), ...consent });
        return { sendConfirmation: !recent, subscriber };
      }),
    );
  }

  /**
   * Double opt-in: a pending subscriber becomes active and the confirmation time is recorded; a bounce
   * or complaint suppression left from before the request is lifted. Other states are left as they are.
   */
  async confirm(id: number): Promise<Subscriber | undefined> {
    return transaction(this.store, async (tx) => {
      const s = await this.getIn(tx, id, true);
      if (!s || s.status !== 'pending') return s;
      const now = this.now();
      const reason = await suppressionReasonIn(tx, s.email);
      if (isLiftable(reason)) {
        await liftSuppressionIn(tx, s, { at: now, by: 'confirmation', from: reason }, 'active', { confirmed_at: now });
        return (await this.getIn(tx, id))!;
      }
      return this.updateIn(tx, id, { status: 'active', confirmed_at: now });
    });
  }

  /**
   * `subscribers unsuppress`: lifts a bounce or complaint suppression by hand and records when. The
   * subscriber returns to what they were: active, or pending when they never confirmed their form
   * request. Never revives anyone who unsubscribed (also before the bounce: no edition left) or was erased.
   */
  async unsuppress(email: string): Promise<UnsuppressOutcome> {
    const normal = normaliseEmail(email);
    return transaction(this.store, async (tx) => {
      const s = await this.findIn(tx, normal, true);
      const reason = await suppressionReasonIn(tx, normal);
      if (!s) return { result: reason === undefined ? 'unknown' : 'erased' };
      if (reason === 'erased') return { result: 'erased' };
      if (s.status === 'unsubscribed' || editionsOf(s).length === 0) return { result: 'unsubscribed', subscriber: s };
      const from = isLiftable(s.status) ? s.status : isLiftable(reason) ? reason : undefined;
      if (!from) return { result: 'not-suppressed', subscriber: s };
      const neverConfirmed = s.consent.source === 'form' && s.consent.confirmedAt === null;
      const status: SubscriberStatus = neverConfirmed ? 'pending' : 'active';
      await liftSuppressionIn(tx, s, { at: this.now(), by: 'operator', from }, status);
      return { result: 'lifted', from, subscriber: (await this.getIn(tx, s.id))! };
    });
  }

  /** Stops one kind (or both); with no kind left the status becomes 'unsubscribed'. Idempotent. */
  async unsubscribe(id: number, scope: Kind | 'all'): Promise<Subscriber | undefined> {
    return transaction(this.store, (tx) => this.unsubscribeIn(tx, id, scope));
  }

  private async unsubscribeIn(tx: Tx, id: number, scope: Kind | 'all'): Promise<Subscriber | undefined> {
    const s = await this.getIn(tx, id, true);
    if (!s || s.status === 'bounced' || s.status === 'complained') return s;
    const midweek = scope === 'all' || scope === 'midweek' ? false : s.midweek;
    const sunday = scope === 'all' || scope === 'sunday' ? false : s.sunday;
    const status: SubscriberStatus = !midweek && !sunday ? 'unsubscribed' : s.status;
    if (midweek === s.midweek && sunday === s.sunday && status === s.status) return s;
    return this.updateIn(tx, id, { midweek: Number(midweek), sunday: Number(sunday), status });
  }

  /**
   * Preferences page: the kinds to receive (none = leave). An unsubscribed subscriber choosing a
   * kind again becomes active with a new consent record (the link reached their inbox).
   */
  async setEditions(id: number, editions: Kind[], consent: { ip: string | null; wording: string }): Promise<Subscriber | undefined> {
    if (editions.length === 0) return this.unsubscribe(id, 'all');
    return transaction(this.store, async (tx) => {
      const s = await this.getIn(tx, id, true);
      if (!s || s.status === 'bounced' || s.status === 'complained' || (await this.isSuppressedIn(tx, s.email))) return s;
      const wanted = flags(editions);
      if (s.status === 'unsubscribed') {
        const now = this.now();
        return this.updateIn(tx, id, {
          ...wanted,
          status: 'active',
          consent_source: 'form',
          consent_ip: consent.ip,
          consent_wording: consent.wording,
          requested_at: now,
          confirmed_at: now,
        });
      }
      if (wanted.midweek === Number(s.midweek) && wanted.sunday === Number(s.sunday)) return s;
      return this.updateIn(tx, id, wanted);
    });
  }

  /**
   * Erasure (GDPR): deletes the subscriber row, replaces the address in the delivery ledger (and
   * in any SMTP reply kept there) with 'erased', and keeps only the SHA-256 hash of the address in
   * suppressions so it is never mailed again.
   */
  async erase(email: string): Promise<EraseOutcome> {
    const normal = normaliseEmail(email);
    const outcome = await transaction(this.store, async (tx) => {
      const subscriber = await this.findIn(tx, normal, true);
      const rows = await tx
        .selectFrom('deliveries')
        .select(['edition_id', 'subscriber_id', 'last_reply'])
        .where((eb) => eb.or([eb('email', '=', normal), eb('subscriber_id', '=', subscriber?.id ?? -1)]))
        .execute();
      const pattern = new RegExp(normal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      for (const r of rows) {
        await tx
          .updateTable('deliveries')
          .set({ email: ERASED_EMAIL, last_reply: r.last_reply?.replace(pattern, ERASED_EMAIL) ?? null })
          .where('edition_id', '=', r.edition_id)
          .where('subscriber_id', '=', r.subscriber_id)
          .execute();
      }
      if (subscriber) await eraseEngagementIn(tx, subscriber.id); // personal click/open events (src/tracking/)
      if (subscriber) await tx.deleteFrom('subscribers').where('id', '=', subscriber.id).execute();
      const suppressionAdded = await addSuppressionIn(tx, normal, 'erased', this.now());
      return { subscriber, deliveriesAnonymised: rows.length, suppressionAdded };
    });
    await afterErase(this.store);
    return outcome;
  }

  /** Counts by status and, for active subscribers, by edition. */
  async counts(): Promise<SubscriberCounts> {
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<SubscriberStatus, number>;
    const rows = await this.store.db
      .selectFrom('subscribers')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    for (const row of rows) byStatus[row.status] = Number(row.n);
    const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
    return { total, byStatus, byEdition: { midweek: await this.countActive('midweek'), sunday: await this.countActive('sunday') } };
  }

  /** Every subscriber in id order, read a page at a time. */
  async *all(): AsyncGenerator<Subscriber> {
    let after = -1;
    for (;;) {
      const rows = await this.store.db.selectFrom('subscribers').selectAll().where('id', '>', after).orderBy('id').limit(STREAM_PAGE).execute();
      for (const row of rows) yield toSubscriber(row);
      if (rows.length < STREAM_PAGE) return;
      after = rows.at(-1)!.id;
    }
  }

  /**
   * Every subscriber's address and state in id order (`subscribers list --emails`), a page at a time:
   * the status, the editions, and the suppression list's reason when the address is on it (a
   * pending request after a bounce stays suppressed until it is confirmed).
   */
  async *states(): AsyncGenerator<SubscriberState> {
    let page: Subscriber[] = [];
    for await (const s of this.all()) {
      page.push(s);
      if (page.length < STREAM_PAGE) continue;
      yield* await this.statesOf(page);
      page = [];
    }
    yield* await this.statesOf(page);
  }

  private async statesOf(page: Subscriber[]): Promise<SubscriberState[]> {
    const reasons = await suppressionReasonsAmong(this.store.db, page.map((s) => s.email));
    return page.map((s) => ({ email: s.email, status: s.status, editions: editionsOf(s), suppressed: reasons.get(s.email) ?? null }));
  }

  /** Personal click/open events (ALMANAC_TRACKING_PERSONAL) in subscriber-id order, a page at a time (for export). */
  engagementHistory(): AsyncGenerator<PersonalEngagement & { subscriberId: number }> {
    return personalEngagementHistory(this.store);
  }

  /** The delivery ledger ordered by subscriber id, then edition id, read a page at a time (for export). */
  async *deliveryHistory(): AsyncGenerator<DeliveryRecord> {
    let after: { subscriberId: number; editionId: string } | undefined;
    for (;;) {
      let query = this.store.db.selectFrom('deliveries').selectAll();
      if (after) {
        const a = after;
        query = query.where((eb) =>
          eb.or([eb('subscriber_id', '>', a.subscriberId), eb.and([eb('subscriber_id', '=', a.subscriberId), eb('edition_id', '>', a.editionId)])]),
        );
      }
      const rows = await query.orderBy('subscriber_id').orderBy('edition_id').limit(STREAM_PAGE).execute();
      for (const r of rows) {
        const { email: _email, ...record } = deliveryFromRow(r);
        yield record;
      }
      if (rows.length < STREAM_PAGE) return;
      const last = rows.at(-1)!;
      after = { subscriberId: last.subscriber_id, editionId: last.edition_id };
    }
  }
}
