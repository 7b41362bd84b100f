import type { Db } from '../db.ts';
import { Ledger, type Delivery, type DeliveryState } from './ledger.ts';
import { formatCount } from './progress-bar.ts';

/** States `report --failed` lists: everyone who did not (certainly) get the edition. */
export const PROBLEM_STATES: readonly DeliveryState[] = ['failed', 'bounced', 'deferred', 'in_doubt', 'sending', 'skipped'];

/** Who got an edition: its row in `editions` and the ledger counts. */
export interface EditionReport {
  editionId: string;
  edition: { kind: string; number: number; subject: string; status: string; sendAt: string; startedAt: string; finishedAt: string | null } | undefined;
  counts: Record<DeliveryState, number>;
  total: number;
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
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (!row && total === 0) return undefined;
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
};

/** The report as terminal lines. */
export function formatReport(report: EditionReport): string {
  const lines: string[] = [];
  const e = report.edition;
  lines.push(
    e
      ? `${report.editionId}  No. ${e.number}  status ${e.status}  started ${e.startedAt}${e.finishedAt ? `  finished ${e.finishedAt}` : ''}`
      : `${report.editionId}  (no edition row)`,
  );
  if (e) lines.push(`subject   ${e.subject}`);
  lines.push('');
  const width = Math.max(...Object.values(report.counts).map((n) => formatCount(n).length), 1);
  for (const state of ['sent', 'bounced', 'failed', 'deferred', 'in_doubt', 'sending', 'skipped'] as DeliveryState[]) {
    lines.push(`  ${formatCount(report.counts[state]).padStart(width)}  ${STATE_LABELS[state]}`);
  }
  lines.push(`  ${formatCount(report.total).padStart(width)}  recipients in the ledger`);
  if (report.problems) {
    lines.push('');
    if (report.problems.length === 0) lines.push('No failed, bounced, deferred or in-doubt recipients.');
    for (const p of report.problems) {
      lines.push(`${p.state.padEnd(8)}  ${p.email}  attempts ${p.attempts}  ${p.updatedAt}  ${p.lastReply ?? '(no reply)'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
