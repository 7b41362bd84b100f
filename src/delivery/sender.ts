import type { Kind } from '../config.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import { preSendChecks } from '../render/checks.ts';
import { RecipientClaims } from '../store/claims.ts';
import { Ledger } from '../store/ledger.ts';
import { RecipientFlags } from '../store/recipient-flags.ts';
import { lockOwnerId, SendLock } from '../store/send-lock.ts';
import { SubscriberStore } from '../store/subscribers.ts';
import { buildMessage, compileMessage, newMessageId } from './mime.ts';
import { RecipientQueue, keysetPages } from './recipients.ts';
import { inDoubtEmails, SendRun } from './send-run.ts';
import type { SendDeps, SendLogLevel, SendOptions, SendSummary } from './send-types.ts';

export type { SendDeps, SendLogEvent, SendLogLevel, SendOptions, SendProgress, SendSummary, SenderStore } from './send-types.ts';

/** The edition cannot be sent as it is (empty, or the pre-send checks failed) and `force` was not given. */
export class SendRefusedError extends Error {
  override name = 'SendRefusedError';
  constructor(
    readonly editionId: string,
    readonly reason: 'empty' | 'checks',
    readonly problems: string[],
  ) {
    super(
      reason === 'empty'
        ? `${editionId} is empty (no news in its window); not sent (use --force to send it anyway)`
        : `${editionId} failed the pre-send checks; not sent (use --force to send it anyway):\n  ${problems.join('\n  ')}`,
    );
  }
}

/** The resume hint printed when a run stops early. */
export function resumeHint(edition: { kind: Kind; id: string }): string {
  return `npm run -s almanac -- send ${edition.kind} --date ${edition.id.slice(0, 10)}`;
}

/**
 * Sends an edition to every active subscriber of its kind, exactly once across runs, crashes and
 * concurrent attempts: the one send path of `almanac send`, the scheduler, the demo and the bench.
 *
 * Invariants:
 * - SQLite: one live run per edition: the `send_locks` lease (heartbeat) is held for the whole run;
 *   a second run refuses (SendLockedError).
 * - PostgreSQL: any number of runs (processes, hosts) share the edition by claiming batches of
 *   recipients (src/store/claims.ts); a dead sender's claims go to the others after their lease.
 * - A recipient's ledger row says 'sending' before its SMTP transaction starts and 'in_doubt' before
 *   its end-of-data; the reply replaces it. A kill -9 leaves at most `maxConnections` rows per
 *   sender mid-transaction: 'sending' ones are sent again, 'in_doubt' ones stay in doubt.
 * - Nobody whose row is final is attempted again (in_doubt only with resendUnknown).
 */
export async function sendEdition(deps: SendDeps, options: SendOptions): Promise<SendSummary> {
  const { edition, rendered } = options;
  const clock = deps.clock ?? (() => new Date());
  const log = (level: SendLogLevel, event: string, fields: Record<string, unknown> = {}) =>
    deps.log?.({ level, event, editionId: edition.id, ...fields });

  if (edition.empty && !options.force) throw new SendRefusedError(edition.id, 'empty', []);
  const problems = preSendChecks(rendered);
  if (problems.length > 0) {
    if (!options.force) throw new SendRefusedError(edition.id, 'checks', problems);
    log('warn', 'checks.overridden', { problems });
  }

  const template = compileMessage(rendered, {
    from: deps.config.from,
    replyTo: deps.config.replyTo,
    mailDomain: deps.config.mailDomain,
    listId: { name: KIND_NAMES[edition.kind], domain: `${edition.kind}.${deps.config.mailDomain}` },
  });
  // Fail before touching anyone if a copy cannot be built (e.g. a slot the links do not fill).
  buildMessage(template, {
    to: 'preflight@example.invalid',
    links: { unsubscribeUrl: `${deps.config.baseUrl}/unsubscribe/preflight`, preferencesUrl: `${deps.config.baseUrl}/preferences/preflight` },
    messageId: newMessageId(deps.config.mailDomain),
    date: clock(),
  });

  if (options.dryRun) return dryRun(deps, options, clock);

  const owner = options.lockOwner ?? lockOwnerId();
  if (deps.store.dialect === 'postgres') {
    const claims = new RecipientClaims(deps.store, edition.id, edition.kind, owner, { clock });
    return new SendRun(deps, options, template, { mode: 'claims', claims }, clock, log).execute();
  }
  const lock = new SendLock(deps.store, edition.id, owner, clock);
  const { tookOverFrom } = await lock.acquire(); // throws SendLockedError
  if (tookOverFrom) log('warn', 'lock.takeover', { previousOwner: tookOverFrom });
  try {
    return await new SendRun(deps, options, template, { mode: 'lock', lock }, clock, log).execute();
  } finally {
    await lock.release();
  }
}

async function dryRun(deps: SendDeps, options: SendOptions, clock: () => Date): Promise<SendSummary> {
  const started = performance.now();
  const ledger = new Ledger(deps.store, options.edition.id, clock);
  const subscribers = deps.subscribers ?? new SubscriberStore(deps.store, clock);
  const queue = new RecipientQueue(keysetPages(subscribers, options.edition.kind), ledger, {
    resendUnknown: !!options.resendUnknown,
    flags: new RecipientFlags(deps.store),
  });
  let wouldSend = 0;
  for (;;) {
    await queue.fill(1, 0);
    if (queue.take(0) === 'done') break;
    wouldSend++;
  }
  const counts = await ledger.counts();
  return {
    editionId: options.edition.id,
    total: await subscribers.countActive(options.edition.kind),
    sent: 0,
    failed: 0,
    bounced: 0,
    deferred: 0,
    inDoubt: await inDoubtEmails(ledger, ['in_doubt', 'sending']),
    skipped: queue.skipped.final + queue.skipped.suppressed,
    skippedAs: queue.skippedAs(),
    durationMs: performance.now() - started,
    msgsPerSecond: 0,
    interrupted: false,
    alreadyComplete: wouldSend === 0 && counts.deferred === 0,
    dryRun: true,
    wouldSend,
    policyRejections: 0,
    complete: false,
    ledger: counts,
  };
}
