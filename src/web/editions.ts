import type { Db } from '../db.ts';
import type { Kind } from '../config.ts';

/** A sent edition as the archive shows it. */
export interface ArchivedEdition {
  id: string;
  kind: Kind;
  number: number;
  sendAt: string;
  subject: string;
  preheader: string;
  finishedAt: string | null;
}

const COLUMNS = 'id, kind, number, send_at AS sendAt, subject, preheader, finished_at AS finishedAt';

/** Sent editions, newest first. */
export function sentEditions(db: Db, limit = 500): ArchivedEdition[] {
  return db.prepare(`SELECT ${COLUMNS} FROM editions WHERE status = 'sent' ORDER BY send_at DESC, id DESC LIMIT ?`).all(limit) as ArchivedEdition[];
}

/** The archive copy (html) of a sent edition, or undefined. */
export function archivedHtml(db: Db, id: string): string | undefined {
  const row = db.prepare(`SELECT html FROM editions WHERE id = ? AND status = 'sent' AND html IS NOT NULL`).get(id) as { html: string } | undefined;
  return row?.html;
}
