import type { EditionReport, EditionRun } from '../store/editions.ts';
import type { DeliveryState } from '../store/types.ts';
import { formatCount } from './progress-bar.ts';

export type { EditionReport, EditionRun } from '../store/editions.ts';

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
