import type { Config } from '../config.ts';
import type { Store, Tx } from '../store/handle.ts';
import { LateLedger, lateTransaction, type CopyRow, type LateState } from '../store/late.ts';
import { setSoftBouncesIn, subscriberIn, suppressLockedIn } from '../store/subscribers.ts';
import type { DeliveryState } from '../store/types.ts';
import type { Analysis, BounceClass, Verdict } from './classify.ts';
import { verifyVerpTag } from './verp.ts';

/**
 * The one place bounces touch the store: find the copy an event is about, move its ledger row, and
 * suppress or count the subscriber. Every method of the ledger and the store it uses is named here.
 *
 * Concurrent writers (PostgreSQL: two ingests, a listener and a webhook at once). Each event, inside
 * its batch's one transaction: (1) the copy's ledger row is read with `FOR UPDATE` (LateLedger), so a
 * second event about the same copy waits and then sees the state the first committed: the same
 * bounce applied twice moves nothing the second time, and is never counted twice; (2) the copy is
 * moved; (3) only then the subscriber's row is locked (`FOR UPDATE`) and the soft-bounce run is read
 * from the ledger. Events about different copies of one subscriber therefore count in turn: the later
 * one reads the earlier one's committed copy in its run (READ COMMITTED takes a new snapshot per
 * statement), and the count is written as max(kept, run), never as kept + 1, so nothing is lost or
 * counted twice whatever the order. Locks taken in different orders by two batches can deadlock; the
 * server aborts one and lateTransaction runs that batch again from the start.
 */

/** What applying one event did. */
export interface ApplyResult {
  /** changed: the ledger (and maybe the subscriber) moved; unchanged: already known; ignored: nothing to do, with why. */
  outcome: 'changed' | 'unchanged' | 'ignored';
  verdict: Verdict;
  copy?: Pick<CopyRow, 'editionId' | 'subscriberId' | 'email'>;
  /** One line for the operator: what it was and what was done. */
  line: string;
  /** Why it was ignored, without any address (for logs that must not name people). */
  reason?: string;
}

const TARGET: Record<Exclude<BounceClass, 'ignored'>, LateState> = {
  hard: 'bounced',
  soft: 'soft_bounced',
  complaint: 'complained',
  failed: 'failed',
};

/** A copy only ever moves to a stronger state, so the same bounce twice changes nothing the second time. */
const RANK: Partial<Record<DeliveryState, number>> = { failed: 1, soft_bounced: 2, bounced: 3, complained: 4 };

/** States of copies the relay never accepted: a late bounce cannot be about them. */
const NOT_SENT: ReadonlySet<DeliveryState> = new Set(['skipped', 'deferred']);

const LABEL: Record<BounceClass, string> = {
  hard: 'hard bounce',
  soft: 'soft bounce',
  complaint: 'complaint',
  failed: 'permanent failure (not the address)',
  ignored: 'ignored',
};

/** Applies classified bounces and complaints to the ledger and the subscriber list. */
export class BounceApplier {
  constructor(
    private readonly store: Store,
    private readonly config: Pick<Config, 'smtp'>,
    /** The signing secret of VERP tags (loadSecret). */
    private readonly secret: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Applies many in ONE transaction (a bounce storm is written in batches, not a commit per message). */
  async applyAll(items: readonly Analysis[]): Promise<ApplyResult[]> {
    return lateTransaction(this.store, async (tx) => {
      const results: ApplyResult[] = [];
      for (const a of items) results.push(await this.applyIn(tx, a));
      return results;
    });
  }

  /** Applies one classified message (in its own transaction). */
  async apply(a: Analysis): Promise<ApplyResult> {
    return (await this.applyAll([a]))[0]!;
  }

  private async applyIn(tx: Tx, a: Analysis): Promise<ApplyResult> {
    const v = a.verdict;
    if (v.class === 'ignored') return { outcome: 'ignored', verdict: v, line: `ignored: ${v.why}`, reason: v.why };
    const ledger = new LateLedger(this.store, tx);
    const found = await this.find(ledger, a);
    if ('why' in found) return { outcome: 'ignored', verdict: v, line: `ignored: ${describe(v)}, but ${found.why}; nothing changed`, reason: found.why };
    const copy = found.copy;
    const about = `${copy.editionId} to ${copy.email} (subscriber ${copy.subscriberId}, matched by ${found.by})`;
    if (NOT_SENT.has(copy.state)) {
      return {
        outcome: 'ignored',
        verdict: v,
        copy,
        line: `ignored: ${describe(v)} about ${about}, a copy the relay never accepted (${copy.state})`,
        reason: `about a copy the relay never accepted (${copy.state})`,
      };
    }
    const target = TARGET[v.class];
    if ((RANK[target] ?? 0) <= (RANK[copy.state] ?? 0)) {
      return { outcome: 'unchanged', verdict: v, copy, line: `unchanged: ${describe(v)} about ${about}: already ${copy.state}` };
    }
    const arrivedAt = this.now();
    await ledger.recordLate(copy, target, { status: v.status ?? null, diagnostic: v.diagnostic?.slice(0, 1000) ?? null, source: v.source, arrivedAt });
    const effect = await this.affectSubscriber(tx, ledger, v, copy);
    return { outcome: 'changed', verdict: v, copy, line: `changed: ${describe(v)} about ${about}: copy ${target}${effect ? `, ${effect}` : ''}` };
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /** Finds the copy: by a verified VERP tag, else the returned Message-ID, else the latest copy to the recipient. */
  private async find(ledger: LateLedger, a: Analysis): Promise<{ copy: CopyRow; by: string } | { why: string }> {
    if (a.keys.tags.length > 0) {
      for (const tag of a.keys.tags) {
        const named = verifyVerpTag(this.secret, tag);
        if (!named) continue;
        const copy = await ledger.copy(named.editionId, named.subscriberId);
        return copy ? { copy, by: 'VERP tag' } : { why: `its VERP tag names ${named.editionId} for subscriber ${named.subscriberId}, which is not in the ledger` };
      }
      // A tag that does not verify is a forgery (or another installation's): never fall back to weaker matches.
      return { why: 'its VERP tag does not verify (forged, or signed with another secret)' };
    }
    if (a.keys.messageId) {
      const copy = await ledger.copyByMessageId(a.keys.messageId);
      if (copy) return { copy, by: 'Message-ID' };
    }
    const recipient = a.verdict.recipient;
    if (recipient) {
      const copy = await ledger.latestCopyTo(recipient);
      if (copy) return { copy, by: 'recipient address' };
    }
    return { why: 'no copy in the ledger matches it (no VERP tag, no known Message-ID, no copy to that address)' };
  }

  /** Suppresses or counts the subscriber of a copy that just moved; returns what was done. */
  private async affectSubscriber(tx: Tx, ledger: LateLedger, v: Verdict, copy: CopyRow): Promise<string> {
    // Locked after the copy (see the top of this file): the soft-bounce run below is read under this lock.
    const subscriber = await subscriberIn(this.store, tx, copy.subscriberId, true);
    if (!subscriber) return 'subscriber no longer in the list';
    const reply = `${v.source} ${v.status ?? ''}: ${v.diagnostic ?? v.why}`.replace(/\s+/g, ' ').slice(0, 500);
    const now = this.now();
    if (v.class === 'complaint') {
      if (subscriber.status === 'complained') return 'subscriber already complained';
      await suppressLockedIn(tx, subscriber, 'complained', reply, now);
      return 'subscriber complained: suppressed';
    }
    if (subscriber.status === 'bounced' || subscriber.status === 'complained') return `subscriber already ${subscriber.status}`;
    if (v.class === 'hard') {
      await suppressLockedIn(tx, subscriber, 'bounced', reply, now);
      return 'subscriber bounced: suppressed';
    }
    if (v.class === 'soft') {
      const limit = this.config.smtp.softBounceLimit;
      const streak = await ledger.softBounceStreak(subscriber.id, copy.createdAt, limit);
      const count = await setSoftBouncesIn(tx, subscriber.id, streak, reply, now);
      if (count < limit) return `soft bounce ${count} of ${limit}`;
      await suppressLockedIn(tx, subscriber, 'bounced', reply, now);
      return `soft bounce ${count} of ${limit}: subscriber bounced, suppressed`;
    }
    return 'subscriber unchanged';
  }
}

function describe(v: Verdict): string {
  return `${LABEL[v.class]} ${v.status ?? ''} (${v.source}: ${v.why})`.replace(/\s+/g, ' ');
}
