import { nowIso, type Db } from '../db.ts';
import type { Edition } from '../editions/compose.ts';

/** The `editions` row of an edition being sent: what the archive and feed read. */
export interface EditionRecordInput {
  edition: Pick<Edition, 'id' | 'kind' | 'number' | 'sendAt' | 'subject' | 'preheader'>;
  /** The archive copy: no personal links. */
  archive: { html: string; text: string };
}

/**
 * Inserts the row as 'sending', or refreshes it when a run resumes. A row already 'sent' keeps the
 * archive copy and times it was sent with (a late re-run to new subscribers does not rewrite history).
 */
export function upsertEditionRow(db: Db, input: EditionRecordInput, clock: () => Date): void {
  const { edition, archive } = input;
  db.prepare(
    `INSERT INTO editions (id, kind, number, send_at, subject, preheader, html, text, status, started_at)
     VALUES (@id, @kind, @number, @sendAt, @subject, @preheader, @html, @text, 'sending', @now)
     ON CONFLICT (id) DO UPDATE SET
       subject = excluded.subject, preheader = excluded.preheader, html = excluded.html, text = excluded.text,
       status = 'sending', finished_at = NULL
     WHERE editions.status <> 'sent'`,
  ).run({
    id: edition.id,
    kind: edition.kind,
    number: edition.number,
    sendAt: edition.sendAt.toISOString(),
    subject: edition.subject,
    preheader: edition.preheader,
    html: archive.html,
    text: archive.text,
    now: nowIso(clock),
  });
}

/** Marks the edition sent: every recipient reached a final state. */
export function markEditionSent(db: Db, editionId: string, clock: () => Date, note?: string): void {
  db.prepare("UPDATE editions SET status = 'sent', finished_at = coalesce(finished_at, ?), note = coalesce(?, note) WHERE id = ?").run(
    nowIso(clock),
    note ?? null,
    editionId,
  );
}

/** The row's status, if the edition has one. */
export function editionStatus(db: Db, editionId: string): string | undefined {
  return (db.prepare('SELECT status FROM editions WHERE id = ?').get(editionId) as { status: string } | undefined)?.status;
}
