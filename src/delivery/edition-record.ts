import { nowIso, type Db } from '../db.ts';
import type { Edition } from '../editions/compose.ts';

/** The `editions` row of an edition being sent: what the archive and feed read. */
export interface EditionRecordInput {
  edition: Pick<Edition, 'id' | 'kind' | 'number' | 'sendAt' | 'subject' | 'preheader'>;
  /** The archive copy: no personal links. */
  archive: { html: string; text: string };
}

/**
 * Starts a run: inserts the row as 'sending', or refreshes it when a run resumes, and records the run
 * (its number is returned). A row already 'sent' keeps the archive copy and the times it was first
 * sent with (a late re-run to new subscribers does not rewrite history); the run has its own times.
 */
export function upsertEditionRow(db: Db, input: EditionRecordInput, clock: () => Date): number {
  const { edition, archive } = input;
  const now = nowIso(clock);
  return db.transaction(() => {
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
      now,
    });
    const { run } = db
      .prepare(
        `INSERT INTO edition_runs (edition_id, run, started_at, sent_before)
         VALUES (@id, (SELECT coalesce(max(run), 0) + 1 FROM edition_runs WHERE edition_id = @id), @now,
                 (SELECT count(*) FROM deliveries WHERE edition_id = @id AND state = 'sent'))
         RETURNING run`,
      )
      .get({ id: edition.id, now }) as { run: number };
    return run;
  })();
}

/**
 * Ends a run (the latest unfinished one, unless `run` is given): records its finish time, outcome and
 * the ledger's sent count; when `complete` (every recipient reached a final state) the edition is sent.
 */
export function finishEditionRun(db: Db, editionId: string, clock: () => Date, complete: boolean, run?: number): void {
  const now = nowIso(clock);
  db.transaction(() => {
    db.prepare(
      `UPDATE edition_runs SET finished_at = @now, outcome = @outcome,
         sent_after = (SELECT count(*) FROM deliveries WHERE edition_id = @id AND state = 'sent')
       WHERE edition_id = @id AND run = coalesce(@run, (SELECT max(run) FROM edition_runs WHERE edition_id = @id AND finished_at IS NULL))`,
    ).run({ id: editionId, now, outcome: complete ? 'complete' : 'incomplete', run: run ?? null });
    if (complete) markEditionSent(db, editionId, () => new Date(now)); // the same instant as the run's end
  })();
}

/** Marks the edition sent: every recipient reached a final state. Its first finish time is kept (the archive's date). */
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
