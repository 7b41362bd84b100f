import { lockRows, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import type { DeliveryState, LateOutcome } from './types.ts';

/** A copy in the ledger, as a late bounce finds it. */
export interface CopyRow {
  editionId: string;
  subscriberId: number;
  email: string;
  state: DeliveryState;
  messageId: string | null;
  createdAt: string;
}

/** The late states a bounce or complaint moves a copy to. */
export type LateState = 'bounced' | 'soft_bounced' | 'complained' | 'failed';

const COPY_COLUMNS = ['edition_id', 'subscriber_id', 'email', 'state', 'message_id', 'created_at'] as const;

/**
 * The ledger across editions, as late bounces and complaints use it (src/bounces/apply.ts): find the
 * copy a bounce is about (by edition and subscriber, by Message-ID, or, for provider webhooks, the latest copy to an address)
 * and write what arrived. Built on one query context: the store, or one transaction of it (on SQLite
 * a transaction holds the only connection, so everything inside it must go through its `tx`).
 *
 * Concurrency (PostgreSQL, READ COMMITTED; several ingests, listeners and web servers at once): every
 * lookup locks the copy it finds (`SELECT … FOR UPDATE`), so two transactions about the same copy take
 * turns, and the second reads the state the first committed (the same bounce twice: "unchanged").
 * SQLite's `BEGIN IMMEDIATE` already lets one writer in at a time.
 */
export class LateLedger {
  constructor(
    private readonly store: Store,
    private readonly tx: Tx = store.db,
  ) {}

  /** The copy of an edition sent to a subscriber (locked until the transaction ends). */
  async copy(editionId: string, subscriberId: number): Promise<CopyRow | undefined> {
    const query = this.tx.selectFrom('deliveries').select(COPY_COLUMNS).where('edition_id', '=', editionId).where('subscriber_id', '=', subscriberId);
    return toCopy(await lockRows(this.store, query).executeTakeFirst());
  }

  /** The copy that carried this Message-ID (with its angle brackets), locked. */
  async copyByMessageId(messageId: string): Promise<CopyRow | undefined> {
    const query = this.tx.selectFrom('deliveries').select(COPY_COLUMNS).where('message_id', '=', messageId).limit(1);
    return toCopy(await lockRows(this.store, query).executeTakeFirst());
  }

  /** The most recent copy to an address (normalised, lowercase), locked. Only for authenticated provider events: mail never matches by address. */
  async latestCopyTo(email: string): Promise<CopyRow | undefined> {
    const query = this.tx
      .selectFrom('deliveries')
      .select(COPY_COLUMNS)
      .where('email', '=', email)
      .orderBy('created_at', 'desc')
      .orderBy('edition_id', 'desc')
      .limit(1);
    return toCopy(await lockRows(this.store, query).executeTakeFirst());
  }

  /** Moves a copy to a late state with what arrived. */
  async recordLate(copy: Pick<CopyRow, 'editionId' | 'subscriberId'>, state: LateState, outcome: LateOutcome): Promise<void> {
    await this.tx
      .updateTable('deliveries')
      .set({
        state,
        late_status: outcome.status,
        late_diagnostic: outcome.diagnostic,
        late_source: outcome.source,
        late_at: outcome.arrivedAt,
        updated_at: outcome.arrivedAt,
      })
      .where('edition_id', '=', copy.editionId)
      .where('subscriber_id', '=', copy.subscriberId)
      .execute();
  }

  /**
   * The subscriber's run of soft-bounced copies that includes the copy sent at `copyCreatedAt`, counting at
   * most `max`: newer copies not (yet) bounced are passed over (their fate is not known), an older copy
   * that did not soft-bounce ends the run. Bounces may arrive in any order; the count is the same.
   * On PostgreSQL the caller holds the subscriber's row lock when it asks (see BounceApplier), so a
   * concurrent transaction's soft bounce of another copy is either committed and counted here, or
   * not yet written and will count this one when its turn comes.
   */
  async softBounceStreak(subscriberId: number, copyCreatedAt: string, max: number): Promise<number> {
    // A lifted suppression starts a new run: copies sent before it do not count (src/store/suppression.ts).
    const lifted = await this.tx.selectFrom('subscribers').select('suppression_lifted_at').where('id', '=', subscriberId).executeTakeFirst();
    let query = this.tx.selectFrom('deliveries').select(['state', 'created_at']).where('subscriber_id', '=', subscriberId);
    if (lifted?.suppression_lifted_at) query = query.where('created_at', '>', lifted.suppression_lifted_at);
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('edition_id', 'desc')
      .limit(max + 50)
      .execute();
    let streak = 0;
    for (const r of rows) {
      if (r.state === 'soft_bounced') {
        if (++streak >= max) break;
      } else if (streak > 0 || r.created_at <= copyCreatedAt) {
        break;
      }
    }
    return streak;
  }
}

/** Tries of one batch of late bounces that lost a deadlock (PostgreSQL) before giving up. @default 5 */
const BATCH_TRIES = 5;

/**
 * Runs one batch of late bounces in ONE transaction (a bounce storm commits in batches, not a commit per
 * message). On PostgreSQL two batches may lock the same copies and subscribers in different orders; the
 * server then aborts one of them (deadlock 40P01, or a serialisation failure 40001). Nothing of an
 * aborted transaction was written, so the whole batch is run again from the start, after a short
 * random pause. SQLite never deadlocks (one writer at a time).
 */
export async function lateTransaction<T>(store: Store, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction(store, fn);
    } catch (error) {
      const code = (error as { code?: unknown } | undefined)?.code;
      if (store.dialect !== 'postgres' || (code !== '40P01' && code !== '40001') || attempt >= BATCH_TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * attempt));
    }
  }
}

function toCopy(r: { edition_id: string; subscriber_id: number; email: string; state: DeliveryState; message_id: string | null; created_at: string } | undefined): CopyRow | undefined {
  return r && { editionId: r.edition_id, subscriberId: r.subscriber_id, email: r.email, state: r.state, messageId: r.message_id, createdAt: r.created_at };
}
