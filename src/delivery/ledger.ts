import type { Statement } from 'better-sqlite3';
import { nowIso, type Db } from '../db.ts';

/**
 * A recipient's state for one edition.
 * - sending:  written before the SMTP transaction (by the send loop, on src/store/ledger.ts); a row a
 *             killed run left 'sending' never had its end-of-data written and is sent again.
 * - sent:     the server replied 250; never sent again.
 * - deferred: 4xx (or the connection failed before the data went out); retried in this run and the next.
 * - bounced:  5.1.x unknown mailbox; the subscriber is suppressed.
 * - failed:   other 5xx; recorded with the reply, not retried.
 * - in_doubt: the message may or may not have arrived: its end-of-data may have reached the server
 *             and no reply was recorded (written just before the final `.`, then replaced by the
 *             reply; left by a crash or a connection lost after the `.`); not resent unless `--resend-unknown`.
 * - skipped:  the address is suppressed; not sent.
 * Late outcomes (src/bounces/: a bounce or complaint that arrived after the relay said 250) move a row on:
 * - bounced:      also a late hard bounce (late_status, late_diagnostic, late_at say which and when).
 * - soft_bounced: a late soft bounce (mailbox full, temporary failure given up); counted toward the limit.
 * - complained:   the recipient reported the copy as spam; the subscriber is suppressed.
 * - failed:       also a late permanent failure that is not about the address (policy, content).
 */
export type DeliveryState = 'sending' | 'sent' | 'deferred' | 'failed' | 'bounced' | 'in_doubt' | 'skipped' | 'soft_bounced' | 'complained';

/** Every state, in report order. */
export const DELIVERY_STATES: readonly DeliveryState[] = ['sending', 'sent', 'deferred', 'failed', 'bounced', 'in_doubt', 'skipped', 'soft_bounced', 'complained'];

/** States a run never sends to again (in_doubt only with `--resend-unknown`). */
export const FINAL_STATES: ReadonlySet<DeliveryState> = new Set(['sent', 'bounced', 'failed', 'in_doubt', 'skipped', 'soft_bounced', 'complained']);

/** What arrived about a copy after the relay accepted it. */
export interface LateOutcome {
  /** RFC 3463 status (5.1.1), or 'complaint'. */
  status: string | null;
  diagnostic: string | null;
  /** Where it came from: dsn, arf, qmail, exim, exchange, yahoo, text, mailgun, postmark, ses. */
  source: string | null;
  arrivedAt: string;
}

/** One ledger row. */
export interface Delivery {
  editionId: string;
  subscriberId: number;
  email: string;
  state: DeliveryState;
  attempts: number;
  lastReply: string | null;
  messageId: string | null;
  createdAt: string;
  updatedAt: string;
  /** Present when a bounce or complaint arrived after the relay accepted the copy. */
  late?: LateOutcome;
}

/** The reply text of a copy whose end-of-data is going out and whose reply is not in yet. */
export const AWAITING_REPLY = 'end of data sent; waiting for the reply';

/** A finished attempt to write back. */
export interface DeliveryOutcome {
  subscriberId: number;
  state: Exclude<DeliveryState, 'sending'>;
  reply: string;
  messageId: string | null;
}

/** A `deliveries` row as SQLite returns it. */
export interface DeliveryRow {
  edition_id: string;
  subscriber_id: number;
  email: string;
  state: DeliveryState;
  attempts: number;
  last_reply: string | null;
  message_id: string | null;
  created_at: string;
  updated_at: string;
  late_status?: string | null;
  late_diagnostic?: string | null;
  late_source?: string | null;
  late_at?: string | null;
}

/** A ledger row as the rest of the program sees it. */
export function toDelivery(r: DeliveryRow): Delivery {
  return {
    editionId: r.edition_id,
    subscriberId: r.subscriber_id,
    email: r.email,
    state: r.state,
    attempts: r.attempts,
    lastReply: r.last_reply,
    messageId: r.message_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.late_at
      ? { late: { status: r.late_status ?? null, diagnostic: r.late_diagnostic ?? null, source: r.late_source ?? null, arrivedAt: r.late_at } }
      : {}),
  };
}

/** The delivery ledger of one edition (table `deliveries`), with its statements prepared once. */
export class Ledger {
  private readonly txn: ReturnType<Db['transaction']>;
  private readonly stmt: {
    leftoversSending: Statement;
    leftoversAwaiting: Statement;
    endOfData: Statement;
    range: Statement;
    outcome: Statement;
    counts: Statement;
    byStates: Statement;
  };

  constructor(
    db: Db,
    readonly editionId: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.txn = db.transaction((fn: () => unknown) => fn());
    this.stmt = {
      leftoversSending: db.prepare(
        "UPDATE deliveries SET state = 'deferred', last_reply = 'not delivered: the sending run stopped before the end of the message data; sent again', updated_at = ? WHERE edition_id = ? AND state = 'sending' RETURNING email",
      ),
      leftoversAwaiting: db.prepare(
        "UPDATE deliveries SET last_reply = 'no reply recorded: the sending run stopped after the end of the message data was sent', updated_at = ? WHERE edition_id = ? AND state = 'in_doubt' AND last_reply = ? RETURNING email",
      ),
      endOfData: db.prepare(
        `INSERT INTO deliveries (edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at)
         VALUES (@editionId, @subscriberId, @email, 'in_doubt', 1, @reply, @messageId, @now, @now)
         ON CONFLICT (edition_id, subscriber_id) DO UPDATE SET
           state = 'in_doubt', attempts = attempts + 1, last_reply = excluded.last_reply, email = excluded.email,
           message_id = excluded.message_id, updated_at = excluded.updated_at`,
      ),
      range: db.prepare('SELECT subscriber_id, state FROM deliveries WHERE edition_id = ? AND subscriber_id BETWEEN ? AND ?'),
      // An outcome with a Message-ID is an attempt: it counts, unless markEndOfData already counted
      // this same attempt (the row is in doubt with the same Message-ID). Skips and build failures do not.
      outcome: db.prepare(
        `INSERT INTO deliveries (edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at)
         VALUES (@editionId, @subscriberId, @email, @state, CASE WHEN @messageId IS NULL THEN 0 ELSE 1 END, @reply, @messageId, @now, @now)
         ON CONFLICT (edition_id, subscriber_id) DO UPDATE SET
           attempts = attempts + CASE WHEN excluded.message_id IS NULL OR (state = 'in_doubt' AND message_id = excluded.message_id) THEN 0 ELSE 1 END,
           state = excluded.state, last_reply = excluded.last_reply, message_id = coalesce(excluded.message_id, message_id), updated_at = excluded.updated_at`,
      ),
      counts: db.prepare('SELECT state, count(*) AS n FROM deliveries WHERE edition_id = ? GROUP BY state'),
      byStates: db.prepare('SELECT * FROM deliveries WHERE edition_id = ? AND state IN (SELECT value FROM json_each(?)) ORDER BY subscriber_id'),
    };
  }

  private now(): string {
    return nowIso(this.clock);
  }

  /** Runs `fn` in one transaction (ledger writes and the store's side effects commit together). */
  transaction<T>(fn: () => T): T {
    return this.txn.immediate(fn) as T;
  }

  /**
   * What a crashed run left behind. A row still 'sending' never had its end-of-data sent, so the copy
   * certainly did not arrive: it becomes 'deferred' and is sent again. A row marked in doubt just
   * before its end-of-data whose reply never came stays in doubt. Returns both lists of addresses.
   * Only safe while holding the edition's send lock (a live run's rows are real).
   */
  takeLeftovers(): { resent: string[]; inDoubt: string[] } {
    const now = this.now();
    const emails = (rows: unknown[]) => (rows as { email: string }[]).map((r) => r.email);
    return {
      resent: emails(this.stmt.leftoversSending.all(now, this.editionId)),
      inDoubt: emails(this.stmt.leftoversAwaiting.all(now, this.editionId, AWAITING_REPLY)),
    };
  }

  /**
   * The first write of an attempt: just before its end-of-data goes out, the copy is recorded in
   * doubt (attempts + 1); the reply replaces that. Before this point a copy is certainly not
   * delivered, so it needs no row: a crash simply leaves it to the next run.
   */
  markEndOfData(subscriberId: number, email: string, messageId: string): void {
    this.stmt.endOfData.run({ editionId: this.editionId, subscriberId, email, messageId, reply: AWAITING_REPLY, now: this.now() });
  }

  /** Ledger states of subscribers with ids in [fromId, toId] (one keyset page). */
  statesBetween(fromId: number, toId: number): Map<number, DeliveryState> {
    const rows = this.stmt.range.all(this.editionId, fromId, toId) as { subscriber_id: number; state: DeliveryState }[];
    return new Map(rows.map((r) => [r.subscriber_id, r.state]));
  }

  /** Writes what happened to one recipient. */
  record(outcome: DeliveryOutcome, email: string): void {
    this.stmt.outcome.run({ editionId: this.editionId, email, now: this.now(), ...outcome });
  }

  /** Rows per state for this edition (every state present, zero when none). */
  counts(): Record<DeliveryState, number> {
    const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>;
    for (const r of this.stmt.counts.all(this.editionId) as { state: DeliveryState; n: number }[]) counts[r.state] = r.n;
    return counts;
  }

  /** Rows in the given states, in subscriber id order, read lazily. */
  *rows(states: readonly DeliveryState[]): Generator<Delivery> {
    for (const r of this.stmt.byStates.iterate(this.editionId, JSON.stringify(states)) as IterableIterator<DeliveryRow>) {
      yield toDelivery(r);
    }
  }
}

/** A copy in the ledger, as a late bounce finds it. */
export interface CopyRow {
  editionId: string;
  subscriberId: number;
  email: string;
  state: DeliveryState;
  messageId: string | null;
  createdAt: string;
}

/**
 * The ledger across editions, as late bounces and complaints use it: find the copy a bounce is about
 * (by edition and subscriber, by Message-ID, or the latest copy to an address) and write what arrived.
 */
export class LateLedger {
  private readonly txn: ReturnType<Db['transaction']>;
  private readonly stmt: { copy: Statement; byMessageId: Statement; latestTo: Statement; late: Statement; recent: Statement };

  constructor(db: Db) {
    this.txn = db.transaction((fn: () => unknown) => fn());
    const columns = 'edition_id, subscriber_id, email, state, message_id, created_at';
    this.stmt = {
      copy: db.prepare(`SELECT ${columns} FROM deliveries WHERE edition_id = ? AND subscriber_id = ?`),
      byMessageId: db.prepare(`SELECT ${columns} FROM deliveries WHERE message_id = ? LIMIT 1`),
      latestTo: db.prepare(`SELECT ${columns} FROM deliveries WHERE email = ? ORDER BY created_at DESC, edition_id DESC LIMIT 1`),
      late: db.prepare(
        `UPDATE deliveries SET state = @state, late_status = @status, late_diagnostic = @diagnostic, late_source = @source,
           late_at = @arrivedAt, updated_at = @arrivedAt
         WHERE edition_id = @editionId AND subscriber_id = @subscriberId`,
      ),
      recent: db.prepare('SELECT state, created_at FROM deliveries WHERE subscriber_id = ? ORDER BY created_at DESC, edition_id DESC LIMIT ?'),
    };
  }

  /** Runs `fn` in one immediate transaction (a batch of bounces commits at once). */
  transaction<T>(fn: () => T): T {
    return this.txn.immediate(fn) as T;
  }

  /** The copy of an edition sent to a subscriber. */
  copy(editionId: string, subscriberId: number): CopyRow | undefined {
    return toCopy(this.stmt.copy.get(editionId, subscriberId) as CopyDbRow | undefined);
  }

  /** The copy that carried this Message-ID (with its angle brackets). */
  copyByMessageId(messageId: string): CopyRow | undefined {
    return toCopy(this.stmt.byMessageId.get(messageId) as CopyDbRow | undefined);
  }

  /** The most recent copy to an address (normalised, lowercase). */
  latestCopyTo(email: string): CopyRow | undefined {
    return toCopy(this.stmt.latestTo.get(email) as CopyDbRow | undefined);
  }

  /** Moves a copy to a late state with what arrived. */
  recordLate(copy: Pick<CopyRow, 'editionId' | 'subscriberId'>, state: 'bounced' | 'soft_bounced' | 'complained' | 'failed', outcome: LateOutcome): void {
    this.stmt.late.run({ editionId: copy.editionId, subscriberId: copy.subscriberId, state, ...outcome });
  }

  /**
   * The subscriber's run of soft-bounced copies that includes the copy sent at `copyCreatedAt`, counting at
   * most `max`: newer copies not (yet) bounced are passed over (their fate is not known), an older copy
   * that did not soft-bounce ends the run. Bounces may arrive in any order; the count is the same.
   */
  softBounceStreak(subscriberId: number, copyCreatedAt: string, max: number): number {
    let streak = 0;
    for (const r of this.stmt.recent.all(subscriberId, max + 50) as { state: DeliveryState; created_at: string }[]) {
      if (r.state === 'soft_bounced') {
        if (++streak >= max) break;
      } else if (streak > 0 || r.created_at <= copyCreatedAt) {
        break;
      }
    }
    return streak;
  }
}

interface CopyDbRow {
  edition_id: string;
  subscriber_id: number;
  email: string;
  state: DeliveryState;
  message_id: string | null;
  created_at: string;
}

function toCopy(r: CopyDbRow | undefined): CopyRow | undefined {
  return r && { editionId: r.edition_id, subscriberId: r.subscriber_id, email: r.email, state: r.state, messageId: r.message_id, createdAt: r.created_at };
}
