import { createHash } from 'node:crypto';
import { sql, type QueryCreator } from 'kysely';
import { ROWS_PER_STATEMENT, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import { deliveryFromRow } from './delivery-row.ts';
import type { Database } from './schema.ts';
import { recordSoftBounceIn, suppressIn } from './subscribers.ts';
import { DELIVERY_STATES, type Delivery, type DeliveryOutcome, type DeliveryState } from './types.ts';

/** One write the send loop wants committed; see LedgerBatch. */
type Write =
  | { op: 'sending'; subscriberId: number; email: string; messageId: string }
  | { op: 'outcome'; outcome: DeliveryOutcome; email: string }
  | { op: 'endOfData'; subscriberId: number }
  | { op: 'resetSoftBounces'; subscriberId: number }
  | { op: 'suppress'; subscriberId: number; status: 'bounced' | 'complained'; reply: string }
  | { op: 'softBounce'; subscriberId: number; reply: string; limit: number };

/**
 * The writes of one wake-up of the send loop, collected synchronously (no promise per row) and
 * committed by `Ledger.commit` in ONE transaction, in the order they were added. Consecutive
 * writes of the same kind become one multi-row statement, so the store layer stays off the hot
 * path on SQLite as on PostgreSQL.
 */
export class LedgerBatch {
  readonly writes: Write[] = [];

  /** Marks a recipient 'sending' (attempts + 1): must be committed before its SMTP transaction. */
  markSending(subscriberId: number, email: string, messageId: string): this {
    this.writes.push({ op: 'sending', subscriberId, email, messageId });
    return this;
  }

  /** Marks a 'sending' row in doubt just before its end-of-data goes out (the reply replaces it). */
  markEndOfData(subscriberId: number): this {
    this.writes.push({ op: 'endOfData', subscriberId });
    return this;
  }

  /** Records what happened to one recipient. */
  record(outcome: DeliveryOutcome, email: string): this {
    this.writes.push({ op: 'outcome', outcome, email });
    return this;
  }

  /** A delivered message ends the subscriber's run of soft bounces. */
  resetSoftBounces(subscriberId: number): this {
    this.writes.push({ op: 'resetSoftBounces', subscriberId });
    return this;
  }

  /** Hard bounce or complaint: the subscriber is suppressed. */
  suppress(subscriberId: number, status: 'bounced' | 'complained', reply: string): this {
    this.writes.push({ op: 'suppress', subscriberId, status, reply });
    return this;
  }

  /** Counts a soft bounce; at `limit` the subscriber is suppressed (reported by commit). */
  recordSoftBounce(subscriberId: number, reply: string, limit: number): this {
    this.writes.push({ op: 'softBounce', subscriberId, reply, limit });
    return this;
  }

  get size(): number {
    return this.writes.length;
  }
}

/** What a commit did beyond writing rows. */
export interface CommitResult {
  /** Subscribers whose soft bounces reached the limit in this commit (now suppressed). */
  suppressedBySoftBounces: number[];
}

/** The reply text of a copy whose end-of-data is going out and whose reply is not in yet. */
export const AWAITING_REPLY = 'end of data sent; waiting for the reply';
const LEFT_SENDING = 'not delivered: the sending run stopped before the end of the message data; sent again';
const LEFT_AWAITING = 'no reply recorded: the sending run stopped after the end of the message data was sent';

/** The writes that are one statement per run (see Ledger.steps). */
type QueryOp = 'sending' | 'outcome' | 'endOfData' | 'resetSoftBounces';
/** Where a compiled statement's parameter comes from: the commit's time, a value of the run's row-th write, or a constant. */
type Slot = { kind: 'now' } | { kind: 'value'; row: number; get: (w: Write) => unknown } | { kind: 'constant'; value: unknown };
interface Shape {
  /** The name of the prepared statement on PostgreSQL (from the SQL text). */
  name: string;
  sql: string;
  slots: Slot[];
}

/** A shape's parameters for these writes (in the order of its runs) at commit time `now`. */
function fill(shape: Shape, writes: Write[], now: string): unknown[] {
  return shape.slots.map((slot) => (slot.kind === 'now' ? now : slot.kind === 'value' ? slot.get(writes[slot.row]!) : slot.value));
}
const NOW_MARK = '\u0000now';
const MARK = /^\u0000(\d+)\u0000(.+)$/;

/** A write whose every value is a marker naming its place: `\0<row>\0<path>`. */
function markedWrite(op: QueryOp, row: number): Write {
  const m = (path: string) => `\u0000${row}\u0000${path}` as never;
  switch (op) {
    case 'sending':
      return { op, subscriberId: m('subscriberId'), email: m('email'), messageId: m('messageId') };
    case 'outcome':
      return { op, email: m('email'), outcome: { subscriberId: m('outcome.subscriberId'), state: m('outcome.state'), reply: m('outcome.reply'), messageId: m('outcome.messageId') } };
    default:
      return { op, subscriberId: m('subscriberId') };
  }
}

/** Ledger rows read per query when streaming. */
const STREAM_PAGE = 1000;

/**
 * The delivery ledger of one edition (table `deliveries`), async, for SQLite and PostgreSQL.
 * The hot path is `commit(batch)`: one transaction per wake-up of the send loop.
 */
export class Ledger {
  private readonly shapes = new Map<string, Shape>();

  constructor(
    private readonly store: Store,
    readonly editionId: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private now(): string {
    return this.clock().toISOString();
  }

  /** Commits a batch in one transaction (nothing is written if any write fails). */
  async commit(batch: LedgerBatch): Promise<CommitResult> {
    const result: CommitResult = { suppressedBySoftBounces: [] };
    if (batch.size === 0) return result;
    if (this.commitSqliteSync(batch)) return result;
    if (await this.commitPostgresOneStatement(batch)) return result;
    await transaction(this.store, (tx) => this.apply(tx, batch.writes, result));
    return result;
  }

  /**
   * The hot path on PostgreSQL: the batch as ONE statement, the runs before the last as
   * data-modifying CTEs (`WITH w0 AS (INSERT …), w1 AS (UPDATE …) INSERT …`), compiled by Kysely once
   * per shape and run as a prepared statement of pg's. One statement is one round trip and atomic by
   * itself, instead of BEGIN, a statement per run and COMMIT: the loop waits for this commit before
   * a copy may go out, so its latency is the sender's. Only when no
   * subscriber appears in two runs on the same table (the parts of one statement see one snapshot
   * and must not change a row twice) and the batch has no suppression or soft bounce.
   */
  private async commitPostgresOneStatement(batch: LedgerBatch): Promise<boolean> {
    const pool = this.store.pgPool;
    if (!pool || batch.writes.some((w) => w.op === 'suppress' || w.op === 'softBounce')) return false;
    const steps = this.steps(batch.writes);
    const seen = new Set<number>();
    for (const { run } of steps) {
      if (run[0]!.op === 'resetSoftBounces') continue; // the subscribers table, not the ledger
      for (const w of run) {
        const id = w.op === 'outcome' ? w.outcome.subscriberId : (w as { subscriberId: number }).subscriberId;
        if (seen.has(id)) return false;
        seen.add(id);
      }
    }
    const runs = steps.map((step) => step.run);
    const shape = this.shape(runs.map((run) => ({ op: run[0]!.op as QueryOp, rows: run.length })));
    // A named statement is parsed and planned once per connection, not at every commit.
    await pool.query({ name: shape.name, text: shape.sql, values: fill(shape, runs.flat(), this.now()) });
    return true;
  }

  /**
   * The hot path on SQLite: the same queries, built and compiled by Kysely, run synchronously in one
   * better-sqlite3 transaction (BEGIN IMMEDIATE). Kysely's async SQLite driver (a promise and a
   * connection mutex per statement, plus BEGIN and COMMIT as queries) costs more than the
   * statements themselves here. Only for batches of ledger rows and soft-bounce resets (the writes
   * that need no answer back); not while a Kysely transaction holds the handle. Returns false when
   * the batch must take the general path.
   */
  private commitSqliteSync(batch: LedgerBatch): boolean {
    const sqlite = this.store.sqlite;
    if (!sqlite || sqlite.inTransaction || batch.writes.some((w) => w.op === 'suppress' || w.op === 'softBounce')) return false;
    const now = this.now();
    const statements = this.steps(batch.writes).map(({ run }) => {
      const shape = this.shape([{ op: run[0]!.op as QueryOp, rows: run.length }]);
      return { sql: shape.sql, parameters: fill(shape, run, now) };
    });
    sqlite
      .transaction(() => {
        for (const q of statements) sqlite.prepare(q.sql).run(...q.parameters);
      })
      .immediate();
    return true;
  }

  /**
   * The compiled statement for runs of the given kinds and lengths (one run: one statement; several:
   * the runs before the last as data-modifying CTEs, see commitPostgresOneStatement), kept per
   * shape: Kysely builds and compiles the query once with a marker in place of every value, and each
   * marker's place in the parameter list says where a later batch's value goes. Building the query
   * anew for every commit cost more than running it.
   */
  private shape(runs: { op: QueryOp; rows: number }[]): Shape {
    const key = runs.map((r) => `${r.op}:${r.rows}`).join('|');
    let shape = this.shapes.get(key);
    if (shape) return shape;
    let next = 0;
    const fakes = runs.map((r) => Array.from({ length: r.rows }, () => markedWrite(r.op, next++)));
    let creator: QueryCreator<Database> = this.store.db;
    for (const [i, run] of fakes.slice(0, -1).entries()) {
      // The CTE's name only widens the creator's table types; the statements here name only real tables.
      creator = creator.with(`w${i}`, (qc) => this.query(qc, run, NOW_MARK) as never) as unknown as QueryCreator<Database>;
    }
    const compiled = this.query(creator, fakes.at(-1)!, NOW_MARK)!.compile();
    shape = {
      name: `almanac_ledger_${createHash('sha1').update(compiled.sql).digest('hex').slice(0, 16)}`,
      sql: compiled.sql,
      slots: compiled.parameters.map((value): Slot => {
        if (value === NOW_MARK) return { kind: 'now' };
        const marked = typeof value === 'string' ? MARK.exec(value) : null;
        if (!marked) return { kind: 'constant', value };
        const path = marked[2]!.split('.');
        return { kind: 'value', row: Number(marked[1]), get: (w) => path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], w) };
      }),
    };
    this.shapes.set(key, shape);
    return shape;
  }

  private async apply(tx: Tx, writes: Write[], result: CommitResult): Promise<void> {
    const now = this.now();
    for (const step of this.steps(writes)) {
      if (step.kind === 'query') {
        await this.query(tx, step.run, now)!.execute();
        continue;
      }
      for (const w of step.run) {
        if (w.op === 'suppress') await suppressIn(this.store, tx, w.subscriberId, w.status, w.reply, now);
        else if (w.op === 'softBounce' && (await recordSoftBounceIn(this.store, tx, w.subscriberId, w.reply, w.limit, now))) {
          result.suppressedBySoftBounces.push(w.subscriberId);
        }
      }
    }
  }

  /**
   * Splits the writes, in order, into runs of the same kind, cut where a subscriber repeats
   * (PostgreSQL refuses to upsert one row twice in a statement) or at the statement size limit.
   * Suppressions and soft bounces are applied one by one (they read before they write).
   */
  private steps(writes: Write[]): { kind: 'query' | 'each'; run: Write[] }[] {
    const steps: { kind: 'query' | 'each'; run: Write[] }[] = [];
    let i = 0;
    while (i < writes.length) {
      const op = writes[i]!.op;
      const run: Write[] = [];
      const seen = new Set<number>();
      while (i < writes.length && writes[i]!.op === op && run.length < ROWS_PER_STATEMENT) {
        const w = writes[i]!;
        const id = w.op === 'outcome' ? w.outcome.subscriberId : w.subscriberId;
        if (seen.has(id)) break;
        seen.add(id);
        run.push(w);
        i++;
      }
      steps.push({ kind: op === 'suppress' || op === 'softBounce' ? 'each' : 'query', run });
    }
    return steps;
  }

  /** The one statement of a run of 'sending', 'outcome', 'endOfData' or 'resetSoftBounces' writes. */
  private query(tx: QueryCreator<Database>, run: Write[], now: string) {
    const op = run[0]!.op;
    if (op === 'sending') return this.writeSending(tx, run as Extract<Write, { op: 'sending' }>[], now);
    if (op === 'outcome') return this.writeOutcomes(tx, run as Extract<Write, { op: 'outcome' }>[], now);
    if (op === 'endOfData') return this.writeEndOfData(tx, run.map((w) => (w as Extract<Write, { op: 'endOfData' }>).subscriberId), now);
    if (op === 'resetSoftBounces') {
      const ids = run.map((w) => (w as Extract<Write, { op: 'resetSoftBounces' }>).subscriberId);
      // As subscribers.ts resetSoftBouncesIn: a delivered message ends a run of soft bounces.
      return tx.updateTable('subscribers').set({ soft_bounces: 0 }).where('id', 'in', ids).where('soft_bounces', '<>', 0);
    }
    return undefined;
  }

  private writeSending(tx: QueryCreator<Database>, rows: Extract<Write, { op: 'sending' }>[], now: string) {
    return tx
      .insertInto('deliveries')
      .values(
        rows.map((r) => ({
          edition_id: this.editionId,
          subscriber_id: r.subscriberId,
          email: r.email,
          state: 'sending' as const,
          attempts: 1,
          message_id: r.messageId,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['edition_id', 'subscriber_id']).doUpdateSet((eb) => ({
          state: 'sending',
          attempts: sql<number>`deliveries.attempts + 1`,
          email: eb.ref('excluded.email'),
          message_id: eb.ref('excluded.message_id'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      );
  }

  private writeEndOfData(tx: QueryCreator<Database>, subscriberIds: number[], now: string) {
    return tx
      .updateTable('deliveries')
      .set({ state: 'in_doubt', last_reply: AWAITING_REPLY, updated_at: now })
      .where('edition_id', '=', this.editionId)
      .where('subscriber_id', 'in', subscriberIds)
      .where('state', '=', 'sending');
  }

  private writeOutcomes(tx: QueryCreator<Database>, rows: Extract<Write, { op: 'outcome' }>[], now: string) {
    return tx
      .insertInto('deliveries')
      .values(
        rows.map((r) => ({
          edition_id: this.editionId,
          subscriber_id: r.outcome.subscriberId,
          email: r.email,
          state: r.outcome.state,
          attempts: 0,
          last_reply: r.outcome.reply,
          message_id: r.outcome.messageId,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['edition_id', 'subscriber_id']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          last_reply: eb.ref('excluded.last_reply'),
          message_id: sql<string | null>`coalesce(excluded.message_id, deliveries.message_id)`,
          updated_at: eb.ref('excluded.updated_at'),
        })),
      );
  }

  /** Marks one recipient 'sending' in its own transaction (the send loop uses commit instead). */
  async markSending(subscriberId: number, email: string, messageId: string): Promise<void> {
    await this.commit(new LedgerBatch().markSending(subscriberId, email, messageId));
  }

  /** Writes what happened to one recipient in its own transaction (the send loop uses commit instead). */
  async record(outcome: DeliveryOutcome, email: string): Promise<void> {
    await this.commit(new LedgerBatch().record(outcome, email));
  }

  /**
   * What a dead run left behind. A row still 'sending' never had its end-of-data sent, so the copy
   * certainly did not arrive: it becomes 'deferred' and is sent again. A row marked in doubt just
   * before its end-of-data (AWAITING_REPLY) whose reply never came stays in doubt, with a reply that
   * says so. With a range, only subscriber ids in it (a claim taken over from a dead sender, see
   * claims.ts). Only safe while no live run can own those rows: the edition's send lock, or the
   * expired claim of the range.
   */
  async takeLeftovers(range?: { fromId: number; toId: number }, tx: Tx = this.store.db): Promise<{ resent: string[]; inDoubt: string[] }> {
    const now = this.now();
    let resend = tx
      .updateTable('deliveries')
      .set({ state: 'deferred', last_reply: LEFT_SENDING, updated_at: now })
      .where('edition_id', '=', this.editionId)
      .where('state', '=', 'sending');
    let awaiting = tx
      .updateTable('deliveries')
      .set({ last_reply: LEFT_AWAITING, updated_at: now })
      .where('edition_id', '=', this.editionId)
      .where('state', '=', 'in_doubt')
      .where('last_reply', '=', AWAITING_REPLY);
    if (range) {
      resend = resend.where('subscriber_id', '>=', range.fromId).where('subscriber_id', '<=', range.toId);
      awaiting = awaiting.where('subscriber_id', '>=', range.fromId).where('subscriber_id', '<=', range.toId);
    }
    const resent = await resend.returning('email').execute();
    const inDoubt = await awaiting.returning('email').execute();
    return { resent: resent.map((r) => r.email), inDoubt: inDoubt.map((r) => r.email) };
  }

  /** Ledger states of subscribers with ids in [fromId, toId] (one keyset page). */
  async statesBetween(fromId: number, toId: number): Promise<Map<number, DeliveryState>> {
    const rows = await this.store.db
      .selectFrom('deliveries')
      .select(['subscriber_id', 'state'])
      .where('edition_id', '=', this.editionId)
      .where('subscriber_id', '>=', fromId)
      .where('subscriber_id', '<=', toId)
      .execute();
    return new Map(rows.map((r) => [r.subscriber_id, r.state]));
  }

  /** Rows per state for this edition (every state present, zero when none). */
  async counts(): Promise<Record<DeliveryState, number>> {
    const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>;
    const rows = await this.store.db
      .selectFrom('deliveries')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('edition_id', '=', this.editionId)
      .groupBy('state')
      .execute();
    for (const r of rows) counts[r.state] = Number(r.n);
    return counts;
  }

  /** Rows in the given states, in subscriber id order, read a page at a time. */
  async *rows(states: readonly DeliveryState[]): AsyncGenerator<Delivery> {
    if (states.length === 0) return;
    let after = -1;
    for (;;) {
      const rows = await this.store.db
        .selectFrom('deliveries')
        .selectAll()
        .where('edition_id', '=', this.editionId)
        .where('state', 'in', [...states])
        .where('subscriber_id', '>', after)
        .orderBy('subscriber_id')
        .limit(STREAM_PAGE)
        .execute();
      for (const r of rows) yield deliveryFromRow(r);
      if (rows.length < STREAM_PAGE) return;
      after = rows.at(-1)!.subscriber_id;
    }
  }
}

