import { hashEmail } from '../subscribers/email.ts';
import type { Store } from './handle.ts';

/**
 * Per-page lookups the recipient stream needs, one query per page instead of per recipient:
 * which addresses are on the suppression list, and which subscribers have a run of soft bounces
 * to reset after a delivery. Async twin of src/delivery/recipient-flags.ts.
 */
export class RecipientFlags {
  constructor(private readonly store: Store) {}

  /** The addresses among `emails` that must never be mailed. */
  async suppressedAmong(emails: string[]): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    const byHash = new Map(emails.map((e) => [hashEmail(e), e]));
    const rows = await this.store.db.selectFrom('suppressions').select('email_hash').where('email_hash', 'in', [...byHash.keys()]).execute();
    return new Set(rows.map((r) => byHash.get(r.email_hash)!));
  }

  /** Ids in [fromId, toId] with a non-zero soft-bounce count. */
  async softBouncedBetween(fromId: number, toId: number): Promise<Set<number>> {
    const rows = await this.store.db
      .selectFrom('subscribers')
      .select('id')
      .where('id', '>=', fromId)
      .where('id', '<=', toId)
      .where('soft_bounces', '>', 0)
      .execute();
    return new Set(rows.map((r) => r.id));
  }
}
