import type { Kind } from '../config.ts';
import type { Edition } from '../editions/compose.ts';
import type { Store } from './handle.ts';
import { Ledger } from './ledger.ts';
import { DELIVERY_STATES, type Delivery, type DeliveryState } from './types.ts';

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
export async function upsertEditionRow(store: Store, input: EditionRecordInput, clock: () => Date = () => new Date()): Promise<void> {
  const { edition, archive } = input;
  await store.db
    .insertInto('editions')
    .values({
      id: edition.id,
      kind: edition.kind,
      number: edition.number,
      send_at: edition.sendAt.toISOString(),
      subject: edition.subject,
      preheader: edition.preheader,
      html: archive.html,
      text: archive.text,
      status: 'sending',
      started_at: clock().toISOString(),
    })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet((eb) => ({
          subject: eb.ref('excluded.subject'),
          preheader: eb.ref('excluded.preheader'),
          html: eb.ref('excluded.html'),
          text: eb.ref('excluded.text'),
          status: 'sending',
          finished_at: null,
        }))
        .where('editions.status', '<>', 'sent'),
    )
    .execute();
}

/** Marks the edition sent: every recipient reached a final state. */
export async function markEditionSent(store: Store, editionId: string, clock: () => Date = () => new Date(), note?: string): Promise<void> {
  await store.db
    .updateTable('editions')
    .set((eb) => ({
      status: 'sent',
      finished_at: eb.fn.coalesce('finished_at', eb.val(clock().toISOString())),
      note: eb.fn.coalesce(eb.val(note ?? null), 'note'),
    }))
    .where('id', '=', editionId)
    .execute();
}

/** The row's status, if the edition has one. */
export async function editionStatus(store: Store, editionId: string): Promise<string | undefined> {
  const row = await store.db.selectFrom('editions').select('status').where('id', '=', editionId).executeTakeFirst();
  return row?.status;
}

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

/** Sent editions, newest first (the web archive and feed). */
export async function sentEditions(store: Store, limit = 500): Promise<ArchivedEdition[]> {
  const rows = await store.db
    .selectFrom('editions')
    .select(['id', 'kind', 'number', 'send_at as sendAt', 'subject', 'preheader', 'finished_at as finishedAt'])
    .where('status', '=', 'sent')
    .orderBy('send_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, kind: r.kind as Kind }));
}

/** The archive copy (html) of a sent edition, or undefined. */
export async function archivedHtml(store: Store, id: string): Promise<string | undefined> {
  const row = await store.db
    .selectFrom('editions')
    .select('html')
    .where('id', '=', id)
    .where('status', '=', 'sent')
    .where('html', 'is not', null)
    .executeTakeFirst();
  return row?.html ?? undefined;
}

/** States `report --failed` lists: everyone who did not (certainly) get the edition. */
export const PROBLEM_STATES: readonly DeliveryState[] = ['failed', 'bounced', 'deferred', 'in_doubt', 'sending', 'skipped'];

/** Who got an edition: its row in `editions` and the ledger counts (same shape as src/delivery/report.ts). */
export interface EditionReport {
  editionId: string;
  edition: { kind: string; number: number; subject: string; status: string; sendAt: string; startedAt: string; finishedAt: string | null } | undefined;
  counts: Record<DeliveryState, number>;
  total: number;
  problems?: Delivery[];
}

/** Reads the report of an edition; undefined when it was never sent (no row, no ledger). */
export async function editionReport(store: Store, editionId: string, withProblems = false): Promise<EditionReport | undefined> {
  const row = await store.db
    .selectFrom('editions')
    .select(['kind', 'number', 'subject', 'status', 'send_at', 'started_at', 'finished_at'])
    .where('id', '=', editionId)
    .executeTakeFirst();
  const ledger = new Ledger(store, editionId);
  const counts = await ledger.counts();
  const total = DELIVERY_STATES.reduce((a, s) => a + counts[s], 0);
  if (!row && total === 0) return undefined;
  const problems: Delivery[] = [];
  if (withProblems) for await (const p of ledger.rows(PROBLEM_STATES)) problems.push(p);
  return {
    editionId,
    edition: row && {
      kind: row.kind,
      number: row.number,
      subject: row.subject,
      status: row.status,
      sendAt: row.send_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
    },
    counts,
    total,
    ...(withProblems ? { problems } : {}),
  };
}
