import type { Config } from '../config.ts';
import { nowIso, type Db } from '../db.ts';
import { LateLedger, type CopyRow, type DeliveryState } from '../delivery/ledger.ts';
import { SubscriberStore } from '../subscribers/store.ts';
import type { Analysis, BounceClass, Verdict } from './classify.ts';
import { verifyVerpTag } from './verp.ts';

/**
 * The one place bounces touch the store: find the copy an event is about, move its ledger row, and
 * suppress or count the subscriber. Every method of the ledger and the store it uses is named here.
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

const TARGET: Record<Exclude<BounceClass, 'ignored'>, 'bounced' | 'soft_bounced' | 'complained' | 'failed'> = {
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
  private readonly ledger: LateLedger;
  private readonly store: SubscriberStore;

  constructor(
    db: Db,
    private readonly config: Pick<Config, 'smtp'>,
    /** The signing secret of VERP tags (loadSecret). */
    private readonly secret: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.ledger = new LateLedger(db);
    this.store = new SubscriberStore(db, clock);
  }

  /** Applies many in ONE transaction (a bounce storm is written in batches, not a commit per message). */
  applyAll(items: readonly Analysis[]): ApplyResult[] {
    return this.ledger.transaction(() => items.map((a) => this.apply(a)));
  }

  /** Applies one classified message. */
  apply(a: Analysis): ApplyResult {
    const v = a.verdict;
    if (v.class === 'ignored') return { outcome: 'ignored', verdict: v, line: `ignored: ${v.why}`, reason: v.why };
    const found = this.find(a);
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
    const arrivedAt = nowIso(this.clock);
    this.ledger.recordLate(copy, target, { status: v.status ?? null, diagnostic: v.diagnostic?.slice(0, 1000) ?? null, source: v.source, arrivedAt });
    const effect = this.affectSubscriber(v, copy);
    return { outcome: 'changed', verdict: v, copy, line: `changed: ${describe(v)} about ${about}: copy ${target}${effect ? `, ${effect}` : ''}` };
  }

  /** Finds the copy: by a verified VERP tag, else the returned Message-ID, else the latest copy to the recipient. */
  private find(a: Analysis): { copy: CopyRow; by: string } | { why: string } {
    if (a.keys.tags.length > 0) {
      for (const tag of a.keys.tags) {
        const named = verifyVerpTag(this.secret, tag);
        if (!named) continue;
        const copy = this.ledger.copy(named.editionId, named.subscriberId);
        return copy ? { copy, by: 'VERP tag' } : { why: `its VERP tag names ${named.editionId} for subscriber ${named.subscriberId}, which is not in the ledger` };
      }
      // A tag that does not verify is a forgery (or another installation's): never fall back to weaker matches.
      return { why: 'its VERP tag does not verify (forged, or signed with another secret)' };
    }
    if (a.keys.messageId) {
      const copy = this.ledger.copyByMessageId(a.keys.messageId);
      if (copy) return { copy, by: 'Message-ID' };
    }
    const recipient = a.verdict.recipient;
    if (recipient) {
      const copy = this.ledger.latestCopyTo(recipient);
      if (copy) return { copy, by: 'recipient address' };
    }
    return { why: 'no copy in the ledger matches it (no VERP tag, no known Message-ID, no copy to that address)' };
  }

  /** Suppresses or counts the subscriber of a copy that just moved; returns what was done. */
  private affectSubscriber(v: Verdict, copy: CopyRow): string {
    const subscriber = this.store.get(copy.subscriberId);
    if (!subscriber) return 'subscriber no longer in the list';
    const reply = `${v.source} ${v.status ?? ''}: ${v.diagnostic ?? v.why}`.replace(/\s+/g, ' ').slice(0, 500);
    if (v.class === 'complaint') {
      if (subscriber.status === 'complained') return 'subscriber already complained';
      this.store.suppress(subscriber.id, 'complained', reply);
      return 'subscriber complained: suppressed';
    }
    if (subscriber.status === 'bounced' || subscriber.status === 'complained') return `subscriber already ${subscriber.status}`;
    if (v.class === 'hard') {
      this.store.suppress(subscriber.id, 'bounced', reply);
      return 'subscriber bounced: suppressed';
    }
    if (v.class === 'soft') {
      const limit = this.config.smtp.softBounceLimit;
      const streak = this.ledger.softBounceStreak(subscriber.id, copy.createdAt, limit);
      const count = this.store.setSoftBounces(subscriber.id, streak, reply);
      if (count < limit) return `soft bounce ${count} of ${limit}`;
      this.store.suppress(subscriber.id, 'bounced', reply);
      return `soft bounce ${count} of ${limit}: subscriber bounced, suppressed`;
    }
    return 'subscriber unchanged';
  }
}

function describe(v: Verdict): string {
  return `${LABEL[v.class]} ${v.status ?? ''} (${v.source}: ${v.why})`.replace(/\s+/g, ' ');
}
