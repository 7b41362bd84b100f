import type { Config, Kind } from '../config.ts';
import type { Db } from '../db.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import type { Edition } from '../editions/compose.ts';
import { preSendChecks } from '../render/checks.ts';
import { archiveCopy, type RecipientLinks, type RenderedEdition } from '../render/render-edition.ts';
import { isPolicyRejection, isSoftBounceReply } from './classify.ts';
import { markEditionSent, upsertEditionRow } from './edition-record.ts';
import { TransportError } from './errors.ts';
import { Ledger, type DeliveryState } from './ledger.ts';
import { buildMessage, buildMessageBytes, compileMessage, newMessageId, type MessageTemplate } from './mime.ts';
import { OutageGate } from './outage.ts';
import { RateLimiter, realClock } from './rate-limit.ts';
import { RecipientFlags } from './recipient-flags.ts';
import { RecipientQueue, type Recipient, type RecipientSource } from './recipients.ts';
import { SendLock } from './send-lock.ts';
import { type SendResult, type Transport } from './transport.ts';
import { verpEnvelopeSender } from '../bounces/verp.ts';
import { loadSecret } from '../subscribers/tokens.ts';

/** What the send engine needs from the subscriber store (SubscriberStore implements it). */
export interface SenderStore extends RecipientSource {
  countActive(kind: Kind): number;
  suppress(id: number, status: 'bounced' | 'complained', reply: string): void;
  recordSoftBounce(id: number, reply: string, limit: number): boolean;
  resetSoftBounces(id: number): void;
}

/** debug: one per recipient sent; info: run events and retries; warn/error: problems worth a look. */
export type SendLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One log event; the CLI writes each as one JSON line. */
export interface SendLogEvent {
  level: SendLogLevel;
  event: string;
  editionId: string;
  [field: string]: unknown;
}

/** What the engine is given: the store, transport and clock it uses (the CLI wires the real ones). */
export interface SendDeps {
  db: Db;
  store: SenderStore;
  transport: Transport;
  config: Config;
  /** Wall clock for ledger timestamps, the lease and the Date header. @default () => new Date() */
  clock?: () => Date;
  log?: (event: SendLogEvent) => void;
  /** The personal links of one recipient. */
  links: (subscriberId: number, kind: Kind) => RecipientLinks;
}

/** Live counts, reported while sending. */
export interface SendProgress {
  editionId: string;
  total: number;
  /** Recipients dealt with: skipped plus every recipient with a result in this run. */
  done: number;
  sent: number;
  failed: number;
  bounced: number;
  deferred: number;
  inDoubt: number;
  skipped: number;
  elapsedMs: number;
  msgsPerSecond: number;
}

/** One run: the edition (composed and rendered once) and how to run. */
export interface SendOptions {
  edition: Pick<Edition, 'id' | 'kind' | 'number' | 'sendAt' | 'subject' | 'preheader' | 'empty'>;
  rendered: RenderedEdition;
  /** Render and count, no ledger writes, no sends. */
  dryRun?: boolean;
  /** Also send to recipients whose row is in doubt. */
  resendUnknown?: boolean;
  /** Send an empty edition, or one failing the pre-send checks. */
  force?: boolean;
  onProgress?: (progress: SendProgress) => void;
  /** Abort = stop taking recipients, finish those in flight, record them, return (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Lease owner id. @default hostname:pid:random */
  lockOwner?: string;
}

/** What a run did; the CLI prints it and the scheduler logs it. */
export interface SendSummary {
  editionId: string;
  /** Active subscribers of the kind when the run started. */
  total: number;
  /** Results of this run. */
  sent: number;
  failed: number;
  bounced: number;
  /** Recipients left deferred for the next run. */
  deferred: number;
  /** Addresses whose copy may or may not have arrived (not resent unless resendUnknown). */
  inDoubt: string[];
  /** Already final before this run (sent, bounced, failed, in doubt) or suppressed. */
  skipped: number;
  durationMs: number;
  msgsPerSecond: number;
  /** Stopped by the signal before the end. */
  interrupted: boolean;
  /** Nobody needed sending: everyone already has it. */
  alreadyComplete: boolean;
  dryRun: boolean;
  /** Dry run: how many recipients would be attempted. */
  wouldSend: number;
  /** Set when the run stopped early for a reason other than the signal. */
  stopped?: { reason: 'smtp-unreachable' | 'smtp-auth' | 'lock-lost'; message: string };
  /** 5.7.x (policy) rejections in this run: our setup, not the subscribers. */
  policyRejections: number;
  /** Every recipient reached a final state: the edition row is 'sent'. */
  complete: boolean;
  /** Ledger rows per state after the run. */
  ledger: Record<DeliveryState, number>;
}

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

const PROGRESS_EVERY_MS = 200;

/**
 * Sends an edition to every active subscriber of its kind, exactly once across runs, crashes and
 * concurrent attempts: the one send path of `almanac send`, the scheduler, the demo and the bench.
 *
 * Invariants:
 * - One live run per edition: the `send_locks` lease (heartbeat) is held for the whole run.
 * - A recipient's ledger row says 'sending' before its SMTP transaction starts, and its result is
 *   written as soon as the reply arrives, before the worker takes anyone else. Each of the
 *   `maxConnections` workers holds at most one 'sending' row, so a kill -9 leaves at most
 *   `maxConnections` rows 'sending', which the next run turns into 'in_doubt'.
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

  const lock = new SendLock(deps.db, edition.id, options.lockOwner, clock);
  const { tookOverFrom } = lock.acquire(); // throws SendLockedError
  if (tookOverFrom) log('warn', 'lock.takeover', { previousOwner: tookOverFrom });
  try {
    return await run(deps, options, template, lock, clock, log);
  } finally {
    lock.release();
  }
}

function dryRun(deps: SendDeps, options: SendOptions, clock: () => Date): SendSummary {
  const started = performance.now();
  const ledger = new Ledger(deps.db, options.edition.id, clock);
  const queue = new RecipientQueue(deps.store, ledger, options.edition.kind, { resendUnknown: !!options.resendUnknown, flags: new RecipientFlags(deps.db) });
  let wouldSend = 0;
  while (queue.take(0) !== 'done') wouldSend++;
  const counts = ledger.counts();
  return {
    editionId: options.edition.id,
    total: deps.store.countActive(options.edition.kind),
    sent: 0,
    failed: 0,
    bounced: 0,
    deferred: 0,
    inDoubt: [...ledger.rows(['in_doubt', 'sending'])].map((r) => r.email),
    skipped: queue.skipped.final + queue.skipped.suppressed,
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

type Log = (level: SendLogLevel, event: string, fields?: Record<string, unknown>) => void;

/** A finished SMTP attempt waiting to be recorded. */
interface Completion {
  recipient: Recipient;
  messageId: string;
  /** Outage epoch when the send was dispatched. */
  epoch: number;
  result?: SendResult;
  error?: unknown;
}

/**
 * The dispatch loop. One loop (not one per connection) owns every ledger write, so each wake-up
 * commits, in ONE transaction, the replies that arrived since the last one and the 'sending' rows
 * of the recipients it dispatches next. Invariants:
 * - A row is 'sending' before its SMTP transaction starts (marked in the transaction that commits
 *   before `transport.send` is called).
 * - A connection slot is reused only in the transaction that records its previous reply, so at
 *   any commit at most `maxConnections` rows are 'sending': a kill -9 leaves at most that many in doubt.
 * - When the loop returns, every reply that arrived is recorded (nothing is in flight).
 */
async function run(
  deps: SendDeps,
  options: SendOptions,
  template: MessageTemplate,
  lock: SendLock,
  clock: () => Date,
  log: Log,
): Promise<SendSummary> {
  const { edition, rendered } = options;
  const { config, store, transport, db } = deps;
  const started = performance.now();
  const ledger = new Ledger(db, edition.id, clock);
  const slots = Math.max(1, config.smtp.maxConnections);

  // Everything below runs under the lease: any 'sending' row is a leftover of a dead run.
  upsertEditionRow(db, { edition, archive: archiveCopy(rendered, config.baseUrl) }, clock);
  const leftovers = ledger.markLeftoversInDoubt();
  if (leftovers.length > 0) log('warn', 'leftovers.in_doubt', { count: leftovers.length, emails: leftovers });

  const total = store.countActive(edition.kind);
  const queue = new RecipientQueue(store, ledger, edition.kind, {
    resendUnknown: !!options.resendUnknown,
    flags: new RecipientFlags(db),
    onSkip: (s, why) => {
      if (why === 'suppressed') ledger.record({ subscriberId: s.id, state: 'skipped', reply: 'suppressed address', messageId: null }, s.email);
      log('debug', 'recipient.skipped', { subscriberId: s.id, email: s.email, why });
    },
  });
  const limiter = new RateLimiter(config.smtp.rateLimit);
  const outage = new OutageGate(config.smtp.retryAttempts, config.smtp.retryBackoffMs);
  const bounceSecret = loadSecret(db, config); // VERP: each copy's envelope sender names it (src/bounces/verp.ts)
  const counts = { sent: 0, failed: 0, bounced: 0, deferredLeft: 0, inDoubt: 0, policy: 0, attempted: 0 };

  // Wake-ups: a reply arrived, the run must stop, or a timer (retry due, pause over, rate slot free).
  // Scheduled with setImmediate so replies that arrive in the same I/O turn share one commit.
  let wake: (() => void) | undefined;
  let wakeScheduled = false;
  const notify = () => {
    if (wakeScheduled) return;
    wakeScheduled = true;
    setImmediate(() => {
      wakeScheduled = false;
      const w = wake;
      wake = undefined;
      w?.();
    });
  };
  const nextEvent = (timerMs: number | undefined) =>
    new Promise<void>((resolve) => {
      const timer = timerMs === undefined ? undefined : setTimeout(() => {
        wake = undefined;
        resolve();
      }, Math.max(1, timerMs));
      wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });

  // One controller stops the run: the caller's signal, a lost lease, or an unreachable server.
  const stop = new AbortController();
  stop.signal.addEventListener('abort', notify);
  let stopped: SendSummary['stopped'];
  const stopWith = (reason: NonNullable<SendSummary['stopped']>['reason'], message: string) => {
    if (stop.signal.aborted) return;
    stopped = { reason, message };
    log('error', 'run.stopped', { reason, message });
    stop.abort();
  };
  const onAbort = () => {
    log('warn', 'run.interrupted', { inFlight });
    stop.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  lock.startHeartbeat(() => stopWith('lock-lost', `another run took over the send lock of ${edition.id}`));

  let lastProgress = 0;
  const progress = (force = false) => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (!force && now - lastProgress < PROGRESS_EVERY_MS) return;
    lastProgress = now;
    const elapsedMs = now - started;
    const skipped = queue.skipped.final + queue.skipped.suppressed;
    options.onProgress({
      editionId: edition.id,
      total,
      done: skipped + counts.sent + counts.failed + counts.bounced + counts.deferredLeft + counts.inDoubt,
      sent: counts.sent,
      failed: counts.failed,
      bounced: counts.bounced,
      deferred: counts.deferredLeft,
      inDoubt: counts.inDoubt,
      skipped,
      elapsedMs,
      msgsPerSecond: elapsedMs > 0 ? (counts.sent * 1000) / elapsedMs : 0,
    });
  };

  /** A 4xx: retry with backoff within the run, then leave it 'deferred' for the next run. */
  const deferOrRetry = (r: Recipient, reply: string) => {
    r.deferrals++;
    if (r.deferrals <= config.smtp.retryAttempts) {
      const delay = config.smtp.retryBackoffMs * 2 ** (r.deferrals - 1);
      queue.retryAt(r, realClock.now() + delay);
      log('info', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: delay });
      return;
    }
    counts.deferredLeft++;
    log('warn', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: null, note: 'left for the next run' });
    if (store.recordSoftBounce(r.id, reply, config.smtp.softBounceLimit)) {
      log('warn', 'subscriber.suppressed', { subscriberId: r.id, email: r.email, reason: 'soft bounces', reply });
    }
  };

  /** Records a server reply for one recipient (inside the loop's transaction). */
  const recordReply = (r: Recipient, messageId: string, result: SendResult) => {
    outage.succeeded();
    const row = { subscriberId: r.id, messageId, reply: result.response };
    switch (result.status) {
      case 'sent':
        ledger.record({ ...row, state: 'sent' }, r.email);
        if (r.softBounced) store.resetSoftBounces(r.id);
        counts.sent++;
        log('debug', 'recipient.sent', { subscriberId: r.id, email: r.email, messageId });
        return;
      case 'bounced':
        ledger.record({ ...row, state: 'bounced' }, r.email);
        store.suppress(r.id, 'bounced', result.response);
        counts.bounced++;
        log('warn', 'recipient.bounced', { subscriberId: r.id, email: r.email, reply: result.response });
        return;
      case 'deferred':
        ledger.record({ ...row, state: 'deferred' }, r.email);
        deferOrRetry(r, result.response);
        return;
      case 'failed':
        ledger.record({ ...row, state: 'failed' }, r.email);
        counts.failed++;
        if (isSoftBounceReply(result) && store.recordSoftBounce(r.id, result.response, config.smtp.softBounceLimit)) {
          log('warn', 'subscriber.suppressed', { subscriberId: r.id, email: r.email, reason: 'soft bounces', reply: result.response });
        }
        if (isPolicyRejection(result)) {
          counts.policy++;
          log('error', 'policy.rejection', {
            subscriberId: r.id,
            email: r.email,
            reply: result.response,
            note: 'the server refused our message on policy grounds (SPF/DKIM/DMARC, reputation, content): fix the sending setup, not the subscriber',
          });
        } else {
          log('warn', 'recipient.failed', { subscriberId: r.id, email: r.email, reply: result.response });
        }
        return;
    }
  };

  /** A connection-level failure: in doubt if the data may have arrived, else retried after a pause. */
  const recordConnectionLoss = (r: Recipient, messageId: string, error: TransportError, epoch: number) => {
    const reply = `${error.code ?? 'connection error'}: ${error.message}`;
    if (error.inDoubt) {
      ledger.record({ subscriberId: r.id, state: 'in_doubt', reply: `connection lost after the message data was sent: ${reply}`, messageId }, r.email);
      counts.inDoubt++;
      log('warn', 'recipient.in_doubt', { subscriberId: r.id, email: r.email, reply });
    } else {
      // Not sent: 'deferred' (what the next run sees if this one stops) and queued again, unless
      // this recipient keeps failing while others get through (then the next run tries it).
      ledger.record({ subscriberId: r.id, state: 'deferred', reply: `not sent, connection failed: ${reply}`, messageId }, r.email);
      r.connectionFailures++;
      if (r.connectionFailures <= config.smtp.retryAttempts) {
        queue.retryAt(r, 0);
      } else {
        counts.deferredLeft++;
        log('warn', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: null, note: 'left for the next run' });
      }
    }
    if (error.credentialsRefused) {
      // A wrong user name or password does not get better with retries: stop now, nothing lost.
      stopWith('smtp-auth', `the SMTP server refused the credentials in SMTP_URL: ${reply}`);
      return;
    }
    const verdict = outage.failed(epoch);
    if (verdict.action === 'give-up') {
      stopWith('smtp-unreachable', `the SMTP server did not come back after ${verdict.failures - 1} retries: ${reply}`);
    } else if (verdict.fresh) {
      log('warn', 'run.paused', { reason: reply, pauseMs: verdict.pauseMs, retry: verdict.failures });
    }
  };

  const recordCompletion = (c: Completion) => {
    if (c.result) return recordReply(c.recipient, c.messageId, c.result);
    if (c.error instanceof TransportError) return recordConnectionLoss(c.recipient, c.messageId, c.error, c.epoch);
    // A bug or an unknown failure inside the transport: we cannot tell whether it went out.
    const reply = `unexpected error: ${(c.error as Error)?.message ?? String(c.error)}`;
    ledger.record({ subscriberId: c.recipient.id, state: 'in_doubt', reply, messageId: c.messageId }, c.recipient.email);
    counts.inDoubt++;
    log('error', 'recipient.in_doubt', { subscriberId: c.recipient.id, email: c.recipient.email, reply });
  };

  /** Builds a recipient's copy; a failure is recorded as 'failed' for that recipient only. */
  const build = (r: Recipient): { raw: Buffer[]; messageId: string } | undefined => {
    const messageId = newMessageId(config.mailDomain);
    try {
      return { raw: buildMessageBytes(template, { to: r.email, links: deps.links(r.id, edition.kind), messageId, date: clock() }), messageId };
    } catch (cause) {
      const reply = `cannot build the message: ${(cause as Error).message}`;
      ledger.record({ subscriberId: r.id, state: 'failed', reply, messageId: null }, r.email);
      counts.failed++;
      log('error', 'recipient.failed', { subscriberId: r.id, email: r.email, reply });
      return undefined;
    }
  };

  let inFlight = 0;
  const completed: Completion[] = [];
  const dispatch = (recipient: Recipient, message: { raw: Buffer[]; messageId: string }) => {
    inFlight++;
    counts.attempted++;
    const epoch = outage.epoch;
    transport
      .send({ from: verpEnvelopeSender(config, bounceSecret, edition.id, recipient.id), to: recipient.email, raw: message.raw, messageId: message.messageId, editionId: edition.id })
      .then(
        (result) => completed.push({ recipient, messageId: message.messageId, epoch, result }),
        (error: unknown) => completed.push({ recipient, messageId: message.messageId, epoch, error }),
      )
      .finally(() => {
        inFlight--;
        notify();
      });
  };

  /** One wake-up: record replies, then pick and mark the next recipients, in one transaction. */
  const step = (): { raw: Buffer[]; messageId: string; recipient: Recipient }[] =>
    ledger.transaction(() => {
      for (const c of completed.splice(0)) recordCompletion(c);
      const picked: { raw: Buffer[]; messageId: string; recipient: Recipient }[] = [];
      while (!stop.signal.aborted && !outage.paused && inFlight + picked.length < slots) {
        const next = queue.take(realClock.now());
        if (next === 'wait' || next === 'done') break;
        if (!limiter.tryAcquire()) {
          queue.putBack(next);
          break;
        }
        const message = build(next);
        if (!message) continue;
        ledger.markSending(next.id, next.email, message.messageId); // committed before the SMTP call
        picked.push({ ...message, recipient: next });
      }
      return picked;
    });

  /** How long to sleep when no reply is pending; undefined = only a reply can change anything. */
  const idleTimer = (): number | undefined => {
    if (stop.signal.aborted || inFlight >= slots) return undefined;
    if (outage.paused) return Math.max(1, outage.remainingMs);
    const rate = limiter.nextFreeIn();
    if (rate > 0) return rate;
    // The rate limit refused a recipient in step() and has freed a slot since (the step's
    // transaction took that long): go again now. Only an exhausted store may end the run.
    if (!queue.storeExhausted) return 0;
    return queue.nextDueIn(realClock.now());
  };

  log('info', 'run.start', { total, transport: transport.kind, maxConnections: slots, leftoversInDoubt: leftovers.length });
  try {
    for (;;) {
      const picked = step();
      for (const p of picked) dispatch(p.recipient, p);
      progress();
      if (completed.length > 0) continue;
      if (inFlight === 0 && picked.length === 0) {
        if (stop.signal.aborted) break;
        const timer = idleTimer();
        if (timer === undefined) break; // stopped, or nothing in flight, nothing to retry, store exhausted
        await nextEvent(timer);
        continue;
      }
      await nextEvent(idleTimer());
    }
  } finally {
    lock.stopHeartbeat();
    options.signal?.removeEventListener('abort', onAbort);
  }

  // Recipients still waiting for a retry when the run stopped are 'deferred' in the ledger already.
  const ledgerCounts = ledger.counts();
  const interrupted = !!options.signal?.aborted;
  const complete =
    !stop.signal.aborted && queue.storeExhausted && queue.pendingRetries() === 0 && ledgerCounts.deferred === 0 && ledgerCounts.sending === 0;
  if (complete) markEditionSent(db, edition.id, clock);
  progress(true);

  const durationMs = performance.now() - started;
  const summary: SendSummary = {
    editionId: edition.id,
    total,
    sent: counts.sent,
    failed: counts.failed,
    bounced: counts.bounced,
    deferred: ledgerCounts.deferred,
    inDoubt: [...ledger.rows(['in_doubt'])].map((r) => r.email),
    skipped: queue.skipped.final + queue.skipped.suppressed,
    durationMs,
    msgsPerSecond: durationMs > 0 ? (counts.sent * 1000) / durationMs : 0,
    interrupted,
    alreadyComplete: complete && counts.attempted === 0 && counts.failed === 0,
    dryRun: false,
    wouldSend: 0,
    ...(stopped ? { stopped } : {}),
    policyRejections: counts.policy,
    complete,
    ledger: ledgerCounts,
  };
  log('info', 'run.done', { ...summary, inDoubt: summary.inDoubt.length });
  return summary;
}
