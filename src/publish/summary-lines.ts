import type { Kind } from '../config.ts';
import { formatCount } from '../delivery/progress-bar.ts';
import { resumeHint, type SendSummary } from '../delivery/sender.ts';
import type { PublishResult } from './publish-edition.ts';

/** The lines that tell a person what publishing did: `almanac send` prints them, the scheduler logs them as one detail. */
export function publishLines(result: PublishResult): string[] {
  switch (result.outcome) {
    case 'invalid-content':
      return [result.error.message];
    case 'empty':
    case 'refused':
    case 'locked':
    case 'held':
    case 'early':
      return [`almanac send: ${result.message}`];
    default:
      return summaryLines(result.summary, result.kind);
  }
}

/** Who a run left out, by why ("2 already had it, 1 suppressed"); empty when nobody was. */
function skippedText(s: SendSummary): string {
  const { alreadySent, suppressed, notDelivered } = s.skippedAs;
  return [
    alreadySent > 0 ? `${formatCount(alreadySent)} already had it` : '',
    suppressed > 0 ? `${formatCount(suppressed)} suppressed` : '',
    notDelivered > 0 ? `${formatCount(notDelivered)} not delivered earlier (bounced, failed or in doubt)` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** The first line of a run that had nobody left to send to. */
function nothingLeftLine(s: SendSummary): string {
  if (s.total === 0 && s.ledger.sent === 0) return `${s.editionId}: no active subscribers; nothing to send`;
  // "Everyone already has it" only when that is true: not when some were left out as suppressed or undelivered.
  if (s.skippedAs.suppressed === 0 && s.skippedAs.notDelivered === 0) return `everyone already has ${s.editionId}: ${formatCount(s.ledger.sent)} sent`;
  return `${s.editionId}: nothing left to send: ${skippedText(s)}`;
}

/** The final summary printed after a run. */
export function summaryLines(s: SendSummary, kind: Kind): string[] {
  const hint = resumeHint({ kind, id: s.editionId });
  const lines: string[] = [];
  const left = skippedText(s);
  if (s.dryRun) {
    lines.push(
      `dry run: ${s.editionId} would go to ${formatCount(s.wouldSend)} of ${formatCount(s.total)} active subscribers` +
        `${left ? ` (left out: ${left})` : ''}; nothing was sent or recorded`,
    );
    return lines;
  }
  if (s.alreadyComplete) {
    lines.push(nothingLeftLine(s));
  } else {
    lines.push(
      `${s.editionId}: sent ${formatCount(s.sent)} · bounced ${formatCount(s.bounced)} · failed ${formatCount(s.failed)} · ` +
        `deferred ${formatCount(s.deferred)} · in doubt ${formatCount(s.inDoubt.length)} · skipped ${formatCount(s.skipped)}${left ? ` (${left})` : ''}`,
      `  ${formatCount(s.total)} active subscribers · ${(s.durationMs / 1000).toFixed(1)} s · ${formatCount(s.msgsPerSecond)} msg/s` +
        ` · ledger: ${formatCount(s.ledger.sent)} sent in total`,
    );
  }
  if (s.policyRejections > 0) {
    lines.push(
      `  WARNING: ${s.policyRejections} policy rejection(s) (5.7.x): the receiving servers refused our mail on policy grounds;` +
        ' check SPF, DKIM and DMARC for the From domain and the relay (see `almanac report --failed`)',
    );
  }
  if (s.inDoubt.length > 0) {
    lines.push(`  in doubt (may or may not have received it; not resent unless --resend-unknown):`);
    for (const email of s.inDoubt) lines.push(`    ${email}`);
  }
  if (s.interrupted) lines.push(`  interrupted: everything in flight was recorded. Resume with: ${hint}`);
  else if (s.stopped) lines.push(`  stopped: ${s.stopped.message}`, `  nothing recorded was lost. Resume with: ${hint}`);
  else if (s.deferred > 0) lines.push(`  ${formatCount(s.deferred)} deferred recipient(s) are retried by the next run: ${hint}`);
  if (s.failed > 0 || s.bounced > 0 || s.deferred > 0 || s.inDoubt.length > 0) {
    lines.push(`  details: npm run -s almanac -- report ${s.editionId} --failed`);
  }
  return lines;
}
