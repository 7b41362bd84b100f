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

/**
 * What applying one message that arrived by mail did: also `unverified`, a bounce or complaint that
 * does not prove it answers a copy we sent (no verified VERP tag, or no Message-ID of a copy to that
 * address), so nothing changed. Its line and reason never name an address.
 */
export interface MailResult extends Omit<ApplyResult, 'outcome'> {
  outcome: ApplyResult['outcome'] | 'unverified';
}

/**
 * How an event must prove which copy it is about.
 * - mail: anyone can write to the bounce address, so only what a stranger cannot know counts: with
 *   ALMANAC_BOUNCE_ADDRESS set, a verified VERP tag; without it, the Message-ID of a copy we sent to
 *   the address the report names (random, unguessable). Never the recipient's address alone.
 * - provider: an authenticated webhook (Mailgun, Postmark, SES) names its recipient by address; a
 *   tag or Message-ID it carries is still used first.
 */
export type Proof = 'mail' | 'provider';

type Found = { copy: CopyRow; by: string } | { why: string } | { unverified: string };

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
    private readonly config: Pick<Config, 'smtp' | 'bounce'>,
    /** The signing secret of VERP tags (loadSecret). */
    private readonly secret: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Applies messages that arrived by mail (listener, ingest, IMAP) in ONE transaction (a bounce storm is written in batches, not a commit per message). */
  async applyMail(items: readonly Analysis[]): Promise<MailResult[]> {
    return this.applyAll(items, 'mail');
  }

  /** Applies authenticated provider events (webhooks) in one transaction; they may name their recipient by address. */
  async applyProviderEvents(items: readonly Analysis[]): Promise<ApplyResult[]> {
    const results = await this.applyAll(items, 'provider');
    // A provider event is never unverified (it names its recipient); the mapping only narrows the type.
    return results.map((r) => (r.outcome === 'unverified' ? { ...r, outcome: 'ignored' as const } : { ...r, outcome: r.outcome }));
  }

  private async applyAll(items: readonly Analysis[], proof: Proof): Promise<MailResult[]> {
    return lateTransaction(this.store, async (tx) => {
      const results: MailResult[] = [];
      for (const a of items) results.push(await this.applyIn(tx, a, proof));
      return results;
    });
  }

  private async applyIn(tx: Tx, a: Analysis, proof: Proof): Promise<MailResult> {
    const v = a.verdict;
    if (v.class === 'ignored') return { outcome: 'ignored', verdict: v, line: `ignored: ${v.why}`, reason: v.why };
    const ledger = new LateLedger(this.store, tx);
    const found = proof === 'mail' ? await this.findForMail(ledger, a) : await this.findForProvider(ledger, a);
    if ('unverified' in found) {
      return { outcome: 'unverified', verdict: v, line: `unverified: ${describe(v)}, but ${found.unverified}; nothing changed`, reason: found.unverified };
    }
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

  /** The copy a verified tag among the message's first few names; undefined when it has none. */
  private async findByTag(ledger: LateLedger, tags: readonly string[]): Promise<Found | undefined> {
    if (tags.length === 0) return undefined;
    for (const tag of tags) {
      const named = verifyVerpTag(this.secret, tag);
      if (!named) continue;
      const copy = await ledger.copy(named.editionId, named.subscriberId);
      return copy ? { copy, by: 'VERP tag' } : { why: `its VERP tag names ${named.editionId} for subscriber ${named.subscriberId}, which is not in the ledger` };
    }
    // A tag that does not verify is a forgery (or another installation's): never fall back to weaker matches.
    return { unverified: 'its VERP tag does not verify (forged, or signed with another secret)' };
  }

  /**
   * Mail (see Proof): with ALMANAC_BOUNCE_ADDRESS set, only a verified VERP tag; without it, only the
   * Message-ID of a copy, and only when the report names no other recipient than that copy's.
   */
  private async findForMail(ledger: LateLedger, a: Analysis): Promise<Found> {
    if (this.config.bounce.address) {
      return (await this.findByTag(ledger, a.keys.tags)) ?? { unverified: 'it carries no VERP tag (with ALMANAC_BOUNCE_ADDRESS set, only a verified tag counts)' };
    }
    if (!a.keys.messageId) return { unverified: 'it quotes no Message-ID of ours (without VERP, only the Message-ID of a copy we sent counts)' };
    const copy = await ledger.copyByMessageId(a.keys.messageId);
    if (!copy) return { unverified: 'the Message-ID it quotes is of no copy in the ledger' };
    const recipient = a.verdict.recipient;
    if (recipient && recipient !== copy.email.toLowerCase()) return { unverified: 'the Message-ID it quotes is of a copy sent to another address than the one it names' };
    return { copy, by: 'Message-ID' };
  }

  /** Provider events (see Proof): a verified tag, else the Message-ID, else the latest copy to the recipient. */
  private async findForProvider(ledger: LateLedger, a: Analysis): Promise<Found> {
    const tagged = await this.findByTag(ledger, a.keys.tags);
    if (tagged) return 'unverified' in tagged ? { why: tagged.unverified } : tagged;
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
