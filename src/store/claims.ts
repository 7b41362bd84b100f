import type { Kind } from '../config.ts';
import { lockOwnerId } from './send-lock.ts';
import { skipLockedRows, lockRows, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import { Heartbeat } from './heartbeat.ts';
import { Ledger } from './ledger.ts';

/** A claim is released to other senders this long after its owner's last heartbeat. @default 10 s */
export const CLAIM_LEASE_MS = 10_000;
/** How often a sender renews its claims. @default 2 s */
export const CLAIM_HEARTBEAT_MS = 2_000;
/** Recipients per claim. @default 200 */
export const CLAIM_BATCH = 200;
/** How long a sender waits before asking again when every recipient is claimed by live senders. @default 1 s */
export const CLAIM_POLL_MS = 1_000;

/** A batch of recipients one sender owns: the active subscribers of the kind with ids in [fromId, toId]. */
export interface Claim {
  editionId: string;
  pass: number;
  fromId: number;
  toId: number;
  /** Set when this claim was taken over from a sender whose lease expired. */
  tookOverFrom?: string;
  /** Addresses the dead owner left 'sending' (certainly not delivered): now 'deferred', sent again (taken-over claims only). */
  leftoversResent: string[];
  /** Addresses whose end-of-data the dead owner may have sent: they stay in doubt (taken-over claims only). */
  leftoversInDoubt: string[];
}

/** What `claimNext` found: a claim, nothing to claim while live senders still hold claims, or the pass is finished. */
export type ClaimResult = Claim | 'wait' | 'done';

/**
 * Several senders sharing one edition (PostgreSQL, and SQLite too): each claims a batch of
 * recipients by subscriber-id range, sends it, and claims the next. Invariants:
 * - Within a pass, claims are disjoint id ranges handed out in order from `send_passes.after_id`
 *   (the pass row is locked while a range is cut), so no recipient is in two live claims.
 * - A claim is leased: its owner renews it by heartbeat. A claim whose lease expired (its sender
 *   died: SIGKILL, host lost) is taken over by the next sender that asks (`FOR UPDATE SKIP LOCKED`,
 *   so two askers take different ones). In the same transaction its leftovers are split as after a
 *   crash on one host (Ledger.takeLeftovers): rows still 'sending' never had their end-of-data sent
 *   and are sent again, rows marked in doubt before their end-of-data stay in doubt; the rest of its
 *   recipients are sent by the new owner (the ledger says who is done).
 * - A new pass (a later run of the same edition: retries of deferred recipients) starts only when
 *   the previous pass was cut to the end and none of its claims is unfinished.
 */
export class RecipientClaims {
  private pass = 0;
  private readonly held = new Map<number, Claim>();
  private readonly heartbeat = new Heartbeat();
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    readonly editionId: string,
    readonly kind: Kind,
    readonly owner: string = lockOwnerId(),
    options: { batchSize?: number; leaseMs?: number; clock?: () => Date } = {},
  ) {
    this.batchSize = options.batchSize ?? CLAIM_BATCH;
    this.leaseMs = options.leaseMs ?? CLAIM_LEASE_MS;
    this.clock = options.clock ?? (() => new Date());
  }

  /** Joins the edition's current pass, or starts a new one when the last is finished; returns the pass number. */
  async join(): Promise<number> {
    this.pass = await transaction(this.store, async (tx) => {
      const now = this.clock().toISOString();
      const created = await tx
        .insertInto('send_passes')
        .values({ edition_id: this.editionId, pass: 1, after_id: 0, exhausted: 0, started_at: now })
        .onConflict((oc) => oc.column('edition_id').doNothing())
        .returning('pass')
        .executeTakeFirst();
      if (created) return created.pass;
      const row = await lockRows(this.store, tx.selectFrom('send_passes').selectAll().where('edition_id', '=', this.editionId)).executeTakeFirstOrThrow();
      if (row.exhausted === 0 || (await this.unfinished(tx, row.pass)) > 0) return row.pass;
      const pass = row.pass + 1;
      await tx.updateTable('send_passes').set({ pass, after_id: 0, exhausted: 0, started_at: now }).where('edition_id', '=', this.editionId).execute();
      await tx.deleteFrom('send_claims').where('edition_id', '=', this.editionId).where('pass', '<', pass).execute();
      return pass;
    });
    return this.pass;
  }

  /** The next batch for this sender: an expired claim of a dead sender first, else a new range. */
  async claimNext(): Promise<ClaimResult> {
    if (this.pass === 0) await this.join();
    const claim = await transaction(this.store, async (tx): Promise<ClaimResult> => {
      const now = this.clock();
      const expiresAt = new Date(now.getTime() + this.leaseMs).toISOString();
      const stale = await skipLockedRows(
        this.store,
        tx
          .selectFrom('send_claims')
          .selectAll()
          .where('edition_id', '=', this.editionId)
          .where('pass', '=', this.pass)
          .where('done_at', 'is', null)
          .where('expires_at', '<', now.toISOString())
          .orderBy('from_id')
          .limit(1),
      ).executeTakeFirst();
      if (stale) {
        await tx
          .updateTable('send_claims')
          .set({ owner: this.owner, claimed_at: now.toISOString(), expires_at: expiresAt })
          .where('edition_id', '=', this.editionId)
          .where('pass', '=', this.pass)
          .where('from_id', '=', stale.from_id)
          .execute();
        const range = { fromId: stale.from_id, toId: stale.to_id };
        const leftovers = await new Ledger(this.store, this.editionId, this.clock).takeLeftovers(range, tx);
        return { editionId: this.editionId, pass: this.pass, ...range, tookOverFrom: stale.owner, leftoversResent: leftovers.resent, leftoversInDoubt: leftovers.inDoubt };
      }
      const cursor = await lockRows(
        this.store,
        tx.selectFrom('send_passes').select(['pass', 'after_id', 'exhausted']).where('edition_id', '=', this.editionId),
      ).executeTakeFirstOrThrow();
      if (cursor.pass !== this.pass) return 'done'; // a later run started a new pass after ours finished
      if (cursor.exhausted === 0) {
        const ids = await tx
          .selectFrom('subscribers')
          .select('id')
          .where('status', '=', 'active')
          .where(this.kind, '=', 1)
          .where('id', '>', cursor.after_id)
          .orderBy('id')
          .limit(this.batchSize)
          .execute();
        if (ids.length > 0) {
          const fromId = cursor.after_id + 1;
          const toId = ids.at(-1)!.id;
          await tx
            .insertInto('send_claims')
            .values({ edition_id: this.editionId, pass: this.pass, from_id: fromId, to_id: toId, owner: this.owner, claimed_at: now.toISOString(), expires_at: expiresAt, done_at: null })
            .execute();
          await tx.updateTable('send_passes').set({ after_id: toId }).where('edition_id', '=', this.editionId).execute();
          // A fresh range is ours alone; rows left mid-transaction in it by a run that died outside
          // any live claim (an earlier pass) get the same split as a taken-over claim.
          const leftovers = await new Ledger(this.store, this.editionId, this.clock).takeLeftovers({ fromId, toId }, tx);
          return { editionId: this.editionId, pass: this.pass, fromId, toId, leftoversResent: leftovers.resent, leftoversInDoubt: leftovers.inDoubt };
        }
        await tx.updateTable('send_passes').set({ exhausted: 1 }).where('edition_id', '=', this.editionId).execute();
      }
      return (await this.unfinished(tx, this.pass)) > 0 ? 'wait' : 'done';
    });
    if (typeof claim === 'object') this.held.set(claim.fromId, claim);
    return claim;
  }

  /** The claim's recipients all reached a final state (or were left deferred for the next run). */
  async complete(claim: Claim): Promise<void> {
    this.held.delete(claim.fromId);
    await this.store.db
      .updateTable('send_claims')
      .set({ done_at: this.clock().toISOString() })
      .where('edition_id', '=', claim.editionId)
      .where('pass', '=', claim.pass)
      .where('from_id', '=', claim.fromId)
      .where('owner', '=', this.owner)
      .execute();
  }

  /** Gives an unfinished claim back at once (a sender stopping cleanly): others may take it now. */
  async release(claim: Claim): Promise<void> {
    this.held.delete(claim.fromId);
    await this.store.db
      .updateTable('send_claims')
      .set({ expires_at: new Date(0).toISOString() })
      .where('edition_id', '=', claim.editionId)
      .where('pass', '=', claim.pass)
      .where('from_id', '=', claim.fromId)
      .where('owner', '=', this.owner)
      .where('done_at', 'is', null)
      .execute();
  }

  /** Extends the lease of every claim this sender holds; returns those it no longer holds (taken over). */
  async renew(): Promise<Claim[]> {
    if (this.held.size === 0) return [];
    const now = this.clock();
    const rows = await this.store.db
      .updateTable('send_claims')
      .set({ expires_at: new Date(now.getTime() + this.leaseMs).toISOString() })
      .where('edition_id', '=', this.editionId)
      .where('pass', '=', this.pass)
      .where('owner', '=', this.owner)
      .where('done_at', 'is', null)
      .where('from_id', 'in', [...this.held.keys()])
      .returning('from_id')
      .execute();
    const still = new Set(rows.map((r) => r.from_id));
    const lost = [...this.held.values()].filter((c) => !still.has(c.fromId));
    for (const c of lost) this.held.delete(c.fromId);
    return lost;
  }

  /** Renews the claims every `intervalMs`; `onLost` gets each claim another sender took over (stop sending it). */
  startHeartbeat(onLost: (claim: Claim) => void, intervalMs = CLAIM_HEARTBEAT_MS): void {
    this.heartbeat.start(async () => (await this.renew()).forEach(onLost), intervalMs);
  }

  stopHeartbeat(): void {
    this.heartbeat.stop();
  }

  /** True when the current pass was cut to the end and every claim of it is done. */
  async passFinished(): Promise<boolean> {
    const row = await this.store.db.selectFrom('send_passes').select(['pass', 'exhausted']).where('edition_id', '=', this.editionId).executeTakeFirst();
    if (!row) return false;
    if (row.pass !== this.pass) return row.pass > this.pass;
    return row.exhausted === 1 && (await this.unfinished(this.store.db, row.pass)) === 0;
  }

  private async unfinished(tx: Tx, pass: number): Promise<number> {
    const row = await tx
      .selectFrom('send_claims')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('edition_id', '=', this.editionId)
      .where('pass', '=', pass)
      .where('done_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
