import type { Kind } from '../config.ts';
import type { Edition } from '../editions/compose.ts';
import { retryOnUniqueViolation, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import { Ledger } from './ledger.ts';
import { DELIVERY_STATES, type Delivery, type DeliveryState } from './types.ts';

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
 * Several senders starting together on PostgreSQL may compute the same next run number: the loser
 * of the primary key retries once with the next one.
 */
export async function upsertEditionRow(store: Store, input: EditionRecordInput, clock: () => Date = () => new Date()): Promise<number> {
  const { edition, archive } = input;
  const now = clock().toISOString();
  return retryOnUniqueViolation(() =>
    transaction(store, async (tx) => {
      await tx
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
          started_at: now,
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
      const last = await tx
        .selectFrom('edition_runs')
        .select((eb) => eb.fn.max('run').as('run'))
        .where('edition_id', '=', edition.id)
        .executeTakeFirst();
      const sent = await sentCount(tx, edition.id);
      const run = Number(last?.run ?? 0) + 1;
      await tx.insertInto('edition_runs').values({ edition_id: edition.id, run, started_at: now, finished_at: null, outcome: null, sent_before: sent, sent_after: null }).execute();
      return run;
    }),
  );
}

async function sentCount(tx: Tx, editionId: string): Promise<number> {
  const row = await tx
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('edition_id', '=', editionId)
    .where('state', '=', 'sent')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Ends run `run`: records its finish time, outcome and the ledger's sent count; when `complete`
 * (every recipient reached a final state) the edition is sent, at the same instant.
 */
export async function finishEditionRun(store: Store, editionId: string, clock: () => Date, complete: boolean, run: number): Promise<void> {
  const now = clock().toISOString();
  await transaction(store, async (tx) => {
    const sent = await sentCount(tx, editionId);
    await tx
      .updateTable('edition_runs')
      .set({ finished_at: now, outcome: complete ? 'complete' : 'incomplete', sent_after: sent })
      .where('edition_id', '=', editionId)
      .where('run', '=', run)
      .execute();
    if (complete) await markEditionSentIn(tx, editionId, now);
  });
}

/** Marks the edition sent: every recipient reached a final state. */
export async function markEditionSent(store: Store, editionId: string, clock: () => Date = () => new Date(), note?: string): Promise<void> {
  await markEditionSentIn(store.db, editionId, clock().toISOString(), note);
}

/** Its first finish time is kept (the archive's date). */
async function markEditionSentIn(tx: Tx, editionId: string, now: string, note?: string): Promise<void> {
  await tx
    .updateTable('editions')
    .set((eb) => ({
      status: 'sent',
      finished_at: eb.fn.coalesce('finished_at', eb.val(now)),
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
export const PROBLEM_STATES: readonly DeliveryState[] = ['failed', 'bounced', 'deferred', 'in_doubt', 'sending', 'skipped', 'soft_bounced', 'complained'];

/** One send run of an edition, as recorded when it started and ended. */
export interface EditionRun {
  run: number;
  startedAt: string;
  /** null: no end recorded (the run is going on, or its process was killed). */
  finishedAt: string | null;
  /** 'complete': every recipient reached a final state; 'incomplete': recipients were left (deferred, stopped, interrupted). */
  outcome: 'complete' | 'incomplete' | null;
  /**
   * Copies accepted by the relay while this run was going (the ledger's sent count at its end minus
   * at its start: with several senders at once, theirs too); null when not recorded.
   */
  sent: number | null;
}

/** Who got an edition: its row in `editions`, each run, and the ledger counts. */
export interface EditionReport {
  editionId: string;
  /** startedAt: the first run's start; finishedAt: when the edition first became complete (the archive's date). */
  edition: { kind: string; number: number; subject: string; status: string; sendAt: string; startedAt: string; finishedAt: string | null } | undefined;
  /** Every run in start order; the times of later runs are theirs, not the first run's. */
  runs: EditionRun[];
  counts: Record<DeliveryState, number>;
  total: number;
  /** Copies the relay accepted and that bounced or drew a complaint afterwards, by their state now. */
  late: { bounced: number; soft_bounced: number; complained: number; failed: number };
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
  const runs = (
    await store.db
      .selectFrom('edition_runs')
      .select(['run', 'started_at', 'finished_at', 'outcome', 'sent_before', 'sent_after'])
      .where('edition_id', '=', editionId)
      .orderBy('run')
      .execute()
  ).map((r) => ({
    run: Number(r.run),
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    sent: r.sent_before === null || r.sent_after === null ? null : Number(r.sent_after) - Number(r.sent_before),
  }));
  const late = { bounced: 0, soft_bounced: 0, complained: 0, failed: 0 };
  const lateRows = await store.db
    .selectFrom('deliveries')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('edition_id', '=', editionId)
    .where('late_at', 'is not', null)
    .groupBy('state')
    .execute();
  for (const r of lateRows) if (r.state in late) late[r.state as keyof typeof late] = Number(r.n);
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
    runs,
    counts,
    total,
    late,
    ...(withProblems ? { problems } : {}),
  };
}
