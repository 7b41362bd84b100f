import type { Kind } from '../config.ts';
import type { Claim, RecipientClaims } from '../store/claims.ts';
import type { Ledger } from '../store/ledger.ts';
import { FINAL_STATES, type DeliveryState } from '../store/types.ts';

/** A subscriber as the recipient stream reads it. */
export interface Candidate {
  id: number;
  email: string;
  name: string | null;
}

/** The part of the subscriber store the recipient stream reads (src/store/subscribers.ts implements it). */
export interface RecipientSource {
  activeBatch(kind: Kind, afterId: number, limit: number): Promise<Candidate[]>;
  activeBetween(kind: Kind, fromId: number, toId: number): Promise<Candidate[]>;
}

/** Per-page lookups (one query per page instead of per recipient); see src/store/recipient-flags.ts. */
export interface PageFlags {
  suppressedAmong(emails: string[]): Promise<Set<string>>;
  softBouncedBetween(fromId: number, toId: number): Promise<Set<number>>;
}

/** A claim of this sender and how many of its recipients are not yet dealt with in this run. */
export interface HeldClaim {
  claim: Claim;
  outstanding: number;
  /** Another sender took it over (our lease lapsed): its recipients are no longer ours. */
  lost: boolean;
}

/** One recipient waiting for an SMTP attempt in this run. */
export interface Recipient {
  id: number;
  email: string;
  /** 4xx replies in this run (0 for a fresh recipient). */
  deferrals: number;
  /** Connection failures before the data went out, in this run. */
  connectionFailures: number;
  /** Has a run of soft bounces to reset once delivered. */
  softBounced: boolean;
  /** The claim the recipient came with (several senders on PostgreSQL). */
  held?: HeldClaim;
}

/** Why a recipient from the store is not sent to in this run. */
export type SkipReason = 'final' | 'suppressed';

/**
 * The recipients a run left out, by why: `alreadySent` had the edition from an earlier run,
 * `suppressed` are on the suppression list (now, or already when an earlier run met them), and
 * `notDelivered` ended earlier without a delivery (bounced, failed, soft-bounced, complained, in doubt).
 */
export interface SkippedAs {
  alreadySent: number;
  suppressed: number;
  notDelivered: number;
}

/** A page of candidates: an id range [fromId, toId], from a keyset page or from a claim. */
interface Page {
  candidates: Candidate[];
  fromId: number;
  toId: number;
  claim?: Claim;
}

/** Where pages come from: the whole list in id order (one sender), or claims (several senders). */
export interface PageSource {
  /** The next page, 'wait' (other senders hold the rest; ask again later), or 'done'. */
  next(): Promise<Page | 'wait' | 'done'>;
}

/** @default 500 */
export const PAGE_SIZE = 500;

/** Active subscribers of a kind in id order, a keyset page at a time (one sender per edition: SQLite). */
export function keysetPages(source: RecipientSource, kind: Kind, pageSize = PAGE_SIZE): PageSource {
  let afterId = 0;
  return {
    async next() {
      const candidates = await source.activeBatch(kind, afterId, pageSize);
      if (candidates.length === 0) return 'done';
      const page = { candidates, fromId: candidates[0]!.id, toId: candidates.at(-1)!.id };
      afterId = page.toId;
      return page;
    },
  };
}

/** The active subscribers of each range this sender claims (several senders per edition: PostgreSQL). */
export function claimedPages(source: RecipientSource, claims: RecipientClaims, kind: Kind, onClaim?: (claim: Claim) => void): PageSource {
  // A claim taken whose recipients could not be read yet (the database went away): read them next time, not another claim.
  let pending: Claim | undefined;
  return {
    async next() {
      if (!pending) {
        const claim = await claims.claimNext();
        if (claim === 'wait' || claim === 'done') return claim;
        onClaim?.(claim);
        pending = claim;
      }
      const claim = pending;
      const candidates = await source.activeBetween(kind, claim.fromId, claim.toId);
      pending = undefined;
      return { candidates, fromId: claim.fromId, toId: claim.toId, claim };
    },
  };
}

/**
 * The recipients of one run, in id order, a page at a time (never the whole list in memory), minus
 * those whose ledger row is final. Recipients to retry (deferred with a due time) come first once due.
 * Reading is async and happens in `fill`, outside the loop's commit; `take` is synchronous, so the
 * loop takes its next recipients and marks them 'sending' in one step.
 */
export class RecipientQueue {
  private page: Recipient[] = [];
  private exhausted = false;
  /** When the source last said 'wait': not asked again before this (ms, performance clock). */
  private waitUntil = 0;
  // Retries in due order; small (only deferred recipients).
  private retries: { recipient: Recipient; dueAt: number }[] = [];
  private skips: Candidate[] = [];
  private finishedClaims: Claim[] = [];
  private readonly held = new Set<HeldClaim>();
  private unread: Page | undefined;
  /** Recipients left out: already final earlier, or suppressed. */
  readonly skipped = { final: 0, suppressed: 0 };
  /** The `final` skips by their ledger state: who already had it, who was skipped as suppressed before. */
  private readonly finalStates = new Map<DeliveryState, number>();

  constructor(
    private readonly source: PageSource,
    private readonly ledger: Ledger,
    private readonly options: {
      resendUnknown: boolean;
      flags?: PageFlags;
      /** How long to wait before asking again when the source said 'wait'. @default 1000 */
      pollMs?: number;
      onSkip?: (r: Candidate, why: SkipReason) => void;
    },
  ) {}

  /** Reads pages until at least `wanted` recipients are ready, the source is exhausted, or it said 'wait'. */
  async fill(wanted: number, now: number): Promise<void> {
    while (this.page.length < wanted && !this.exhausted && now >= this.waitUntil) {
      // A page read but not yet added (its ledger states could not be read) is added first: a failed
      // read is tried again without losing or skipping a page.
      const page = this.unread ?? (await this.source.next());
      if (page === 'done') this.exhausted = true;
      else if (page === 'wait') this.waitUntil = now + (this.options.pollMs ?? 1000);
      else {
        this.unread = page;
        await this.addPage(page);
        this.unread = undefined;
      }
    }
  }

  /** The next recipient to attempt now, 'wait' if none is ready yet (a retry not due, a page to read), or 'done'. */
  take(now: number): Recipient | 'wait' | 'done' {
    const first = this.retries[0];
    if (first && first.dueAt <= now) {
      this.retries.shift();
      return first.recipient;
    }
    const next = this.page.shift();
    if (next) return next;
    return this.retries.length > 0 || !this.exhausted ? 'wait' : 'done';
  }

  /** Puts back a recipient taken but not attempted (it goes first next time). */
  putBack(recipient: Recipient): void {
    this.page.unshift(recipient);
  }

  /** Milliseconds until a recipient can be taken or the source may be asked again (0 if now; undefined if nothing will come). */
  nextDueIn(now: number): number | undefined {
    // Recipients read and waiting are due now: the loop may have skipped them for a pause that has
    // ended since (an SMTP outage pause ending during a commit). Only an empty queue ends a run.
    if (this.page.length > 0) return 0;
    const due: number[] = [];
    const first = this.retries[0];
    if (first) due.push(first.dueAt - now);
    if (!this.exhausted) due.push(this.waitUntil - now);
    return due.length === 0 ? undefined : Math.max(0, Math.min(...due));
  }

  /** Schedules a recipient for another attempt at `dueAt`. */
  retryAt(recipient: Recipient, dueAt: number): void {
    this.retries.push({ recipient, dueAt });
    this.retries.sort((a, b) => a.dueAt - b.dueAt);
  }

  /** Recipients still scheduled for a retry (left 'deferred' when the run stops). */
  pendingRetries(): number {
    return this.retries.length;
  }

  /** Recipients read and waiting (not counting retries). */
  get ready(): number {
    return this.page.length;
  }

  /** True when the source has been read to the end. */
  get storeExhausted(): boolean {
    return this.exhausted;
  }

  /** Recipients skipped as suppressed since the last call: the loop records them in its next commit. */
  drainSkips(): Candidate[] {
    return this.skips.splice(0);
  }

  /**
   * The recipient is dealt with in this run (a final reply, in doubt, or left deferred for the next
   * run). When it was the last of its claim, the claim is returned by the next `drainFinishedClaims`.
   */
  settle(r: Recipient): void {
    const held = r.held;
    if (!held) return;
    r.held = undefined;
    held.outstanding--;
    if (held.outstanding === 0 && !held.lost) this.finishClaim(held);
  }

  /** Claims all of whose recipients are dealt with; complete them once the commit recording them succeeded. */
  drainFinishedClaims(): Claim[] {
    return this.finishedClaims.splice(0);
  }

  /** Claims with recipients not yet dealt with (give them back when the run stops). */
  unfinishedClaims(): Claim[] {
    const claims = [...this.held].filter((h) => !h.lost).map((h) => h.claim);
    if (this.unread && typeof this.unread === 'object' && this.unread.claim) claims.push(this.unread.claim);
    return claims;
  }

  /** Another sender took this claim over: forget its recipients not yet sent (those in flight are recorded). */
  dropClaim(claim: Claim): number {
    const held = [...this.held].find((h) => h.claim.fromId === claim.fromId && h.claim.pass === claim.pass);
    if (!held) return 0;
    held.lost = true;
    this.held.delete(held);
    const before = this.page.length + this.retries.length;
    this.page = this.page.filter((r) => r.held !== held);
    this.retries = this.retries.filter((r) => r.recipient.held !== held);
    return before - this.page.length - this.retries.length;
  }

  private finishClaim(held: HeldClaim): void {
    this.held.delete(held);
    this.finishedClaims.push(held.claim);
  }

  private async addPage({ candidates, fromId, toId, claim }: Page): Promise<void> {
    const flags = this.options.flags;
    const [states, suppressed, softBounced] = await Promise.all([
      this.ledger.statesBetween(fromId, toId),
      flags?.suppressedAmong(candidates.map((s) => s.email)),
      flags?.softBouncedBetween(fromId, toId),
    ]);
    // Nothing changes before every read succeeded (see fill).
    const held: HeldClaim | undefined = claim ? { claim, outstanding: 0, lost: false } : undefined;
    if (held) this.held.add(held);
    for (const s of candidates) {
      const state = states.get(s.id);
      if (state && this.isFinal(state)) {
        this.skipped.final++;
        this.finalStates.set(state, (this.finalStates.get(state) ?? 0) + 1);
        this.options.onSkip?.(s, 'final');
      } else if (suppressed?.has(s.email)) {
        this.skipped.suppressed++;
        this.skips.push(s);
        this.options.onSkip?.(s, 'suppressed');
      } else {
        if (held) held.outstanding++;
        this.page.push({ id: s.id, email: s.email, deferrals: 0, connectionFailures: 0, softBounced: softBounced?.has(s.id) ?? true, held });
      }
    }
    if (held && held.outstanding === 0) this.finishClaim(held);
  }

  /** Why recipients were left out, as a person reads it (the send summary). */
  skippedAs(): SkippedAs {
    const alreadySent = this.finalStates.get('sent') ?? 0;
    const suppressedBefore = this.finalStates.get('skipped') ?? 0;
    return {
      alreadySent,
      suppressed: this.skipped.suppressed + suppressedBefore,
      notDelivered: this.skipped.final - alreadySent - suppressedBefore,
    };
  }

  private isFinal(state: DeliveryState): boolean {
    if (state === 'in_doubt') return !this.options.resendUnknown;
    return FINAL_STATES.has(state);
  }
}
