import type { Db } from '../db.ts';
import { Ledger, type Delivery, type DeliveryState } from './ledger.ts';
import { formatCount } from './progress-bar.ts';

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
  /** Copies accepted by the relay during this run; null when not recorded (no end, or a run from before runs were kept). */
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
export function editionReport(db: Db, editionId: string, withProblems = false): EditionReport | undefined {
  const row = db
    .prepare('SELECT kind, number, subject, status, send_at, started_at, finished_at FROM editions WHERE id = ?')
    .get(editionId) as
    | { kind: string; number: number; subject: string; status: string; send_at: string; started_at: string; finished_at: string | null }
    | undefined;
  const ledger = new Ledger(db, editionId);
  const counts = ledger.counts();
  const runs = (
    db
      .prepare('SELECT run, started_at, finished_at, outcome, sent_before, sent_after FROM edition_runs WHERE edition_id = ? ORDER BY run')
      .all(editionId) as {
      run: number;
      started_at: string;
      finished_at: string | null;
      outcome: EditionRun['outcome'];
      sent_before: number | null;
      sent_after: number | null;
    }[]
  ).map((r) => ({
    run: r.run,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    sent: r.sent_before === null || r.sent_after === null ? null : r.sent_after - r.sent_before,
  }));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (!row && total === 0) return undefined;
  const late = { bounced: 0, soft_bounced: 0, complained: 0, failed: 0 };
  const lateRows = db
    .prepare('SELECT state, count(*) AS n FROM deliveries WHERE edition_id = ? AND late_at IS NOT NULL GROUP BY state')
    .all(editionId) as { state: keyof typeof late; n: number }[];
  for (const r of lateRows) if (r.state in late) late[r.state] = r.n;
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
    ...(withProblems ? { problems: [...ledger.rows(PROBLEM_STATES)] } : {}),
  };
}

const STATE_LABELS: Record<DeliveryState, string> = {
  sent: 'sent',
  bounced: 'bounced (suppressed)',
  failed: 'failed',
  deferred: 'deferred (next run retries)',
  in_doubt: 'in doubt',
  sending: 'sending (run in progress)',
  skipped: 'skipped (suppressed)',
  soft_bounced: 'soft-bounced later (counted toward the limit)',
  complained: 'complained (suppressed)',
};

const OUTCOME_LABELS = { complete: 'complete', incomplete: 'incomplete (recipients left for the next run)' } as const;

/** `run 2     started …  finished …  complete, 1 sent`. */
function formatRun(r: EditionRun): string {
  const head = `run ${r.run}`.padEnd(10);
  if (r.finishedAt === null) return `${head}started ${r.startedAt}  no end recorded (still running, or its process was killed)`;
  const sent = r.sent === null ? '' : `, ${formatCount(r.sent)} sent`;
  return `${head}started ${r.startedAt}  finished ${r.finishedAt}  ${r.outcome ? OUTCOME_LABELS[r.outcome] : 'ended'}${sent}`;
}

/** The report as terminal lines. */
export function formatReport(report: EditionReport): string {
  const lines: string[] = [];
  const e = report.edition;
  lines.push(e ? `${report.editionId}  No. ${e.number}  status ${e.status}` : `${report.editionId}  (no edition row)`);
  if (e) lines.push(`subject   ${e.subject}`);
  for (const r of report.runs) lines.push(formatRun(r));
  lines.push('');
  const width = Math.max(...Object.values(report.counts).map((n) => formatCount(n).length), 1);
  for (const state of ['sent', 'bounced', 'soft_bounced', 'complained', 'failed', 'deferred', 'in_doubt', 'sending', 'skipped'] as DeliveryState[]) {
    lines.push(`  ${formatCount(report.counts[state]).padStart(width)}  ${STATE_LABELS[state]}`);
  }
  lines.push(`  ${formatCount(report.total).padStart(width)}  recipients in the ledger`);
  const l = report.late;
  if (l.bounced + l.soft_bounced + l.complained + l.failed > 0) {
    lines.push('');
    lines.push(
      `After the relay accepted them: ${l.bounced} bounced, ${l.soft_bounced} soft-bounced, ${l.complained} complained, ${l.failed} failed for other reasons`,
    );
  }
  if (report.problems) {
    lines.push('');
    if (report.problems.length === 0) lines.push('No failed, bounced, deferred or in-doubt recipients.');
    for (const p of report.problems) {
      if (p.late) {
        const what = [p.late.status, p.late.diagnostic].filter(Boolean).join('  ') || '(no diagnostic)';
        lines.push(`${p.state.padEnd(8)}  ${p.email}  arrived ${p.late.arrivedAt} (${p.late.source ?? 'late'})  ${what}`);
      } else {
        lines.push(`${p.state.padEnd(8)}  ${p.email}  attempts ${p.attempts}  ${p.updatedAt}  ${p.lastReply ?? '(no reply)'}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
