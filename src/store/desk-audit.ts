import type { Store, Tx } from './handle.ts';

// The audit log of the desk: every change made through it (and to the editors list), with who and
// when. Written in the same transaction as the change where the change is in the database.

/** One entry of the audit log. */
export interface DeskAuditEntry {
  id: number;
  at: string;
  /** The editor's address, or 'operator' for the command line. */
  actor: string;
  action: string;
  /** An edition id, `subscriber <id>`, or an editor's address. */
  subject: string;
  detail: string | null;
}

/** What a change writes to the log. */
export type DeskAuditInput = Omit<DeskAuditEntry, 'id'>;

/** The actor of changes made from the command line. */
export const OPERATOR = 'operator';

/** Writes one entry inside the caller's transaction (or straight to the store's database). */
export async function recordDeskAuditIn(tx: Tx, entry: DeskAuditInput): Promise<void> {
  await tx.insertInto('desk_audit').values(entry).execute();
}

/** Writes one entry. */
export function recordDeskAudit(store: Store, entry: DeskAuditInput): Promise<void> {
  return recordDeskAuditIn(store.db, entry);
}

/** The entries about one subject (an edition id, `subscriber <id>`), newest first. */
export async function auditOf(store: Store, subject: string, limit = 50): Promise<DeskAuditEntry[]> {
  const rows = await store.db.selectFrom('desk_audit').selectAll().where('subject', '=', subject).orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** The latest entries, newest first. */
export async function recentAudit(store: Store, limit = 20): Promise<DeskAuditEntry[]> {
  const rows = await store.db.selectFrom('desk_audit').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
