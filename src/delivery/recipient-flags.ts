import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.ts';
import { hashEmail } from '../subscribers/email.ts';

/**
 * Per-page lookups the recipient stream needs, one query per page of 500 instead of one (or three)
 * per recipient: which addresses are on the suppression list, and which subscribers have a run of
 * soft bounces to reset after a delivery. Read-only queries on the tables of src/db.ts.
 */
export class RecipientFlags {
  private readonly suppressed: Statement;
  private readonly softBounced: Statement;

  constructor(db: Db) {
    this.suppressed = db.prepare('SELECT email_hash FROM suppressions WHERE email_hash IN (SELECT value FROM json_each(?))');
    this.softBounced = db.prepare('SELECT id FROM subscribers WHERE id BETWEEN ? AND ? AND soft_bounces > 0');
  }

  /** The addresses among `emails` that must never be mailed. */
  suppressedAmong(emails: string[]): Set<string> {
    const byHash = new Map(emails.map((e) => [hashEmail(e), e]));
    const rows = this.suppressed.all(JSON.stringify([...byHash.keys()])) as { email_hash: string }[];
    return new Set(rows.map((r) => byHash.get(r.email_hash)!));
  }

  /** Ids in [fromId, toId] with a non-zero soft-bounce count. */
  softBouncedBetween(fromId: number, toId: number): Set<number> {
    return new Set((this.softBounced.all(fromId, toId) as { id: number }[]).map((r) => r.id));
  }
}
