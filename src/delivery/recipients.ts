import type { Kind } from '../config.ts';
import { FINAL_STATES, type DeliveryState, type Ledger } from './ledger.ts';

/** The part of the subscriber store the recipient stream reads. */
export interface RecipientSource {
  activeBatch(kind: Kind, afterId: number, limit: number): { id: number; email: string; name: string | null }[];
  isSuppressed(email: string): boolean;
}

/** Optional per-page lookups (one query per page instead of per recipient); see recipient-flags.ts. */
export interface PageFlags {
  suppressedAmong(emails: string[]): Set<string>;
  softBouncedBetween(fromId: number, toId: number): Set<number>;
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
}

/** Why a recipient from the store is not sent to in this run. */
export type SkipReason = 'final' | 'suppressed';

/** @default 500 */
export const PAGE_SIZE = 500;

/**
 * Active subscribers of a kind, in id order, a keyset page at a time (never the whole list in
 * memory), minus those whose ledger row is final. Recipients to retry (deferred with a due time)
 * come first once due. Synchronous: the SQLite reads are fast and let a worker take its next
 * recipient without yielding to another worker between "take" and "mark sending".
 */
export class RecipientQueue {
  private page: Recipient[] = [];
  private afterId = 0;
  private exhausted = false;
  // Retries in due order; small (only deferred recipients).
  private retries: { recipient: Recipient; dueAt: number }[] = [];
  /** Recipients left out: already final earlier, or suppressed. */
  readonly skipped = { final: 0, suppressed: 0 };

  constructor(
    private readonly source: RecipientSource,
    private readonly ledger: Ledger,
    private readonly kind: Kind,
    private readonly options: {
      resendUnknown: boolean;
      pageSize?: number;
      flags?: PageFlags;
      onSkip?: (r: { id: number; email: string }, why: SkipReason) => void;
    },
  ) {}

  /** The next recipient to attempt now, 'wait' if only retries remain and none is due, or 'done'. */
  take(now: number): Recipient | 'wait' | 'done' {
    const first = this.retries[0];
    if (first && first.dueAt <= now) {
      this.retries.shift();
      return first.recipient;
    }
    if (this.page.length === 0 && !this.exhausted) this.loadPage();
    const next = this.page.shift();
    if (next) return next;
    return this.retries.length > 0 ? 'wait' : 'done';
  }

  /** Puts back a recipient taken but not attempted (it goes first next time). */
  putBack(recipient: Recipient): void {
    this.page.unshift(recipient);
  }

  /** Milliseconds until the earliest retry is due (0 if one is due; undefined if none). */
  nextDueIn(now: number): number | undefined {
    const first = this.retries[0];
    return first ? Math.max(0, first.dueAt - now) : undefined;
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

  /** True when the store has been read to the end. */
  get storeExhausted(): boolean {
    return this.exhausted;
  }

  private loadPage(): void {
    const pageSize = this.options.pageSize ?? PAGE_SIZE;
    // Loops only while whole pages are already final (a resumed run skipping ahead).
    while (this.page.length === 0) {
      const batch = this.source.activeBatch(this.kind, this.afterId, pageSize);
      if (batch.length === 0) {
        this.exhausted = true;
        return;
      }
      const [fromId, toId] = [batch[0]!.id, batch.at(-1)!.id];
      const states = this.ledger.statesBetween(fromId, toId);
      const flags = this.options.flags;
      const suppressed = flags?.suppressedAmong(batch.map((s) => s.email));
      const softBounced = flags?.softBouncedBetween(fromId, toId);
      for (const s of batch) {
        const state = states.get(s.id);
        if (state && this.isFinal(state)) {
          this.skipped.final++;
          this.options.onSkip?.(s, 'final');
        } else if (suppressed ? suppressed.has(s.email) : this.source.isSuppressed(s.email)) {
          this.skipped.suppressed++;
          this.options.onSkip?.(s, 'suppressed');
        } else {
          this.page.push({ id: s.id, email: s.email, deferrals: 0, connectionFailures: 0, softBounced: softBounced?.has(s.id) ?? true });
        }
      }
      this.afterId = batch.at(-1)!.id;
    }
  }

  private isFinal(state: DeliveryState): boolean {
    if (state === 'in_doubt') return !this.options.resendUnknown;
    return FINAL_STATES.has(state);
  }
}
