import { archiveCopy } from '../render/render-edition.ts';
import { isPolicyRejection, isSoftBounceReply } from './classify.ts';
import { finishEditionRun, upsertEditionRow } from './edition-record.ts';
import { TransportError } from './errors.ts';
import { Ledger } from './ledger.ts';
import { buildMessageBytes, newMessageId, type MessageTemplate } from './mime.ts';
import { OutageGate } from './outage.ts';
import { RateLimiter, realClock } from './rate-limit.ts';
import { RecipientFlags } from './recipient-flags.ts';
import { RecipientQueue, type Recipient } from './recipients.ts';
import type { SendDeps, SendLogLevel, SendOptions, SendSummary } from './send-types.ts';
import type { SendLock } from './send-lock.ts';
import type { SendResult } from './transport.ts';
import { verpEnvelopeSender } from '../bounces/verp.ts';
import { loadSecret } from '../subscribers/tokens.ts';
import { WakeUp } from './wake-up.ts';

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

/** One recipient's copy, built, ready to go on the wire. */
interface Copy {
  recipient: Recipient;
  raw: Buffer[];
  messageId: string;
}

const PROGRESS_EVERY_MS = 200;

/**
 * One run of the dispatch loop over an edition's recipients, under the edition's send lock.
 * The loop reads as its steps: `claimNext` (record the replies that arrived, mark in doubt the
 * copies about to end their data, take the next recipients), `sendCopy`, and on each reply
 * `recordReply` / `recordConnectionLoss`,
 * which `deferOrRetry`; `finishRun` writes the summary.
 *
 * Invariants:
 * - One loop (not one per connection) owns every ledger write, so each wake-up commits, in ONE
 *   transaction, the replies that arrived since the last one and the in-doubt marks of the copies
 *   about to send their end-of-data.
 * - A copy's row becomes 'in_doubt' (committed) before its end-of-data `.` is written, and the reply
 *   replaces it. Before that the copy is certainly not delivered and has no row of this attempt:
 *   after a kill -9 the next run sends it again; only rows already 'in_doubt' may have arrived.
 * - A connection slot is reused only in the transaction that records its previous reply, so at
 *   any commit at most `maxConnections` rows await their reply in doubt: a kill -9 leaves at most
 *   that many in doubt.
 * - When the loop returns, every reply that arrived is recorded (nothing is in flight).
 */
export class SendRun {
  private readonly started = performance.now();
  private readonly ledger: Ledger;
  private readonly queue: RecipientQueue;
  private readonly slots: number;
  private readonly limiter: RateLimiter;
  private readonly outage: OutageGate;
  /** Signs each copy's VERP envelope sender (src/bounces/verp.ts). */
  private readonly bounceSecret: string;
  private readonly wakeUp = new WakeUp();
  /** Stops the run: the caller's signal, a lost lease, or an unreachable server. */
  private readonly stop = new AbortController();
  private stopped: SendSummary['stopped'];
  private readonly counts = { sent: 0, failed: 0, bounced: 0, deferredLeft: 0, inDoubt: 0, policy: 0, attempted: 0 };
  private inFlight = 0;
  private readonly completed: Completion[] = [];
  /** Copies whose data is on the wire but for the end-of-data, waiting to be marked in doubt first. */
  private readonly endingData: { recipient: Recipient; messageId: string; release: (error?: Error) => void }[] = [];
  private total = 0;
  /** This run's number in the edition's run history (edition_runs). */
  private runNumber = 0;
  private lastProgress = 0;

  constructor(
    private readonly deps: SendDeps,
    private readonly options: SendOptions,
    private readonly template: MessageTemplate,
    private readonly lock: SendLock,
    private readonly clock: () => Date,
    private readonly log: Log,
  ) {
    const { config, store, db } = deps;
    this.ledger = new Ledger(db, options.edition.id, clock);
    this.slots = Math.max(1, config.smtp.maxConnections);
    this.queue = new RecipientQueue(store, this.ledger, options.edition.kind, {
      resendUnknown: !!options.resendUnknown,
      flags: new RecipientFlags(db),
      onSkip: (s, why) => {
        if (why === 'suppressed') this.ledger.record({ subscriberId: s.id, state: 'skipped', reply: 'suppressed address', messageId: null }, s.email);
        this.log('debug', 'recipient.skipped', { subscriberId: s.id, email: s.email, why });
      },
    });
    this.limiter = new RateLimiter(config.smtp.rateLimit);
    this.outage = new OutageGate(config.smtp.retryAttempts, config.smtp.retryBackoffMs);
    this.bounceSecret = loadSecret(db, config);
  }

  /** Runs the loop to the end (everyone final, stopped, or interrupted) and summarises it. */
  async execute(): Promise<SendSummary> {
    const leftovers = this.begin();
    const onAbort = () => {
      this.log('warn', 'run.interrupted', { inFlight: this.inFlight });
      this.stop.abort();
    };
    this.stop.signal.addEventListener('abort', this.wakeUp.notify);
    if (this.options.signal?.aborted) onAbort();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    this.lock.startHeartbeat(() => this.stopWith('lock-lost', `another run took over the send lock of ${this.options.edition.id}`));
    this.log('info', 'run.start', { total: this.total, transport: this.deps.transport.kind, maxConnections: this.slots, leftoversInDoubt: leftovers.length });
    try {
      await this.loop();
    } finally {
      this.lock.stopHeartbeat();
      this.options.signal?.removeEventListener('abort', onAbort);
      // Only reached with copies waiting here when the loop threw: their end-of-data never goes out.
      for (const e of this.endingData.splice(0)) e.release(new Error('the send run ended before the end of the message data'));
    }
    return this.finishRun();
  }

  /**
   * Under the lease, rows a dead run left mid-transaction are leftovers: those whose end-of-data never
   * went out are sent again, those whose end-of-data may have arrived stay in doubt.
   */
  private begin(): string[] {
    const { edition, rendered } = this.options;
    this.runNumber = upsertEditionRow(this.deps.db, { edition, archive: archiveCopy(rendered, this.deps.config.baseUrl) }, this.clock);
    const leftovers = this.ledger.transaction(() => this.ledger.takeLeftovers());
    if (leftovers.resent.length > 0) this.log('warn', 'leftovers.resent', { count: leftovers.resent.length, emails: leftovers.resent });
    if (leftovers.inDoubt.length > 0) this.log('warn', 'leftovers.in_doubt', { count: leftovers.inDoubt.length, emails: leftovers.inDoubt });
    this.total = this.deps.store.countActive(edition.kind);
    return leftovers.inDoubt;
  }

  private async loop(): Promise<void> {
    for (;;) {
      const copies = this.claimNext();
      for (const copy of copies) this.sendCopy(copy);
      this.progress();
      if (this.completed.length > 0 || this.endingData.length > 0) continue;
      if (this.inFlight === 0 && copies.length === 0) {
        if (this.stop.signal.aborted) return;
        const timer = this.idleTimer();
        if (timer === undefined) return; // stopped, or nothing in flight, nothing to retry, store exhausted
        await this.wakeUp.next(timer);
        continue;
      }
      await this.wakeUp.next(this.idleTimer());
    }
  }

  /**
   * One wake-up, in one transaction: record the replies that arrived, mark in doubt the copies about
   * to send their end-of-data (released once that commits), then take and mark the next recipients.
   */
  private claimNext(): Copy[] {
    const ending = this.endingData.splice(0);
    let copies: Copy[];
    try {
      copies = this.ledger.transaction(() => {
        for (const c of this.completed.splice(0)) this.recordCompletion(c);
        for (const e of ending) this.ledger.markEndOfData(e.recipient.id, e.recipient.email, e.messageId);
        return this.takeRecipients();
      });
    } catch (error) {
      for (const e of ending) e.release(error as Error);
      throw error;
    }
    for (const e of ending) e.release();
    return copies;
  }

  /** Takes recipients while a connection is free and the rate allows (inside claimNext's transaction, for the skipped rows it writes). */
  private takeRecipients(): Copy[] {
    const copies: Copy[] = [];
    while (!this.stop.signal.aborted && !this.outage.paused && this.inFlight + copies.length < this.slots) {
      const next = this.queue.take(realClock.now());
      if (next === 'wait' || next === 'done') break;
      if (!this.limiter.tryAcquire()) {
        this.queue.putBack(next);
        break;
      }
      const copy = this.buildCopy(next);
      if (copy) copies.push(copy);
    }
    return copies;
  }

  /** The transport's end-of-data gate: resolves once the copy is recorded as possibly delivered. */
  private beforeEndOfData(recipient: Recipient, messageId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.endingData.push({ recipient, messageId, release: (error) => (error ? reject(error) : resolve()) });
      this.wakeUp.notify();
    });
  }

  /** Builds a recipient's copy; a failure is recorded as 'failed' for that recipient only. */
  private buildCopy(r: Recipient): Copy | undefined {
    const { config } = this.deps;
    const messageId = newMessageId(config.mailDomain);
    try {
      const links = this.deps.links(r.id, this.options.edition.kind);
      return { recipient: r, raw: buildMessageBytes(this.template, { to: r.email, links, messageId, date: this.clock() }), messageId };
    } catch (cause) {
      const reply = `cannot build the message: ${(cause as Error).message}`;
      this.ledger.record({ subscriberId: r.id, state: 'failed', reply, messageId: null }, r.email);
      this.counts.failed++;
      this.log('error', 'recipient.failed', { subscriberId: r.id, email: r.email, reply });
      return undefined;
    }
  }

  /** Hands one copy to the transport; its reply (or failure) is recorded by the next claimNext. */
  private sendCopy({ recipient, raw, messageId }: Copy): void {
    this.inFlight++;
    this.counts.attempted++;
    const epoch = this.outage.epoch;
    this.deps.transport
      .send({
        from: verpEnvelopeSender(this.deps.config, this.bounceSecret, this.options.edition.id, recipient.id),
        to: recipient.email,
        raw,
        messageId,
        editionId: this.options.edition.id,
        beforeEndOfData: () => this.beforeEndOfData(recipient, messageId),
      })
      .then(
        (result) => this.completed.push({ recipient, messageId, epoch, result }),
        (error: unknown) => this.completed.push({ recipient, messageId, epoch, error }),
      )
      .finally(() => {
        this.inFlight--;
        this.wakeUp.notify();
      });
  }

  private recordCompletion(c: Completion): void {
    if (c.result) return this.recordReply(c.recipient, c.messageId, c.result);
    if (c.error instanceof TransportError) return this.recordConnectionLoss(c.recipient, c.messageId, c.error, c.epoch);
    // A bug or an unknown failure inside the transport: we cannot tell whether it went out.
    const reply = `unexpected error: ${(c.error as Error)?.message ?? String(c.error)}`;
    this.ledger.record({ subscriberId: c.recipient.id, state: 'in_doubt', reply, messageId: c.messageId }, c.recipient.email);
    this.counts.inDoubt++;
    this.log('error', 'recipient.in_doubt', { subscriberId: c.recipient.id, email: c.recipient.email, reply });
  }

  /** Records a server reply for one recipient (inside claimNext's transaction). */
  private recordReply(r: Recipient, messageId: string, result: SendResult): void {
    const { store, config } = this.deps;
    this.outage.succeeded();
    const row = { subscriberId: r.id, messageId, reply: result.response };
    switch (result.status) {
      case 'sent':
        this.ledger.record({ ...row, state: 'sent' }, r.email);
        if (r.softBounced) store.resetSoftBounces(r.id);
        this.counts.sent++;
        this.log('debug', 'recipient.sent', { subscriberId: r.id, email: r.email, messageId });
        return;
      case 'bounced':
        this.ledger.record({ ...row, state: 'bounced' }, r.email);
        store.suppress(r.id, 'bounced', result.response);
        this.counts.bounced++;
        this.log('warn', 'recipient.bounced', { subscriberId: r.id, email: r.email, reply: result.response });
        return;
      case 'deferred':
        this.ledger.record({ ...row, state: 'deferred' }, r.email);
        this.deferOrRetry(r, result.response);
        return;
      case 'failed':
        this.ledger.record({ ...row, state: 'failed' }, r.email);
        this.counts.failed++;
        if (isSoftBounceReply(result) && store.recordSoftBounce(r.id, result.response, config.smtp.softBounceLimit)) {
          this.log('warn', 'subscriber.suppressed', { subscriberId: r.id, email: r.email, reason: 'soft bounces', reply: result.response });
        }
        if (isPolicyRejection(result)) {
          this.counts.policy++;
          this.log('error', 'policy.rejection', {
            subscriberId: r.id,
            email: r.email,
            reply: result.response,
            note: 'the server refused our message on policy grounds (SPF/DKIM/DMARC, reputation, content): fix the sending setup, not the subscriber',
          });
        } else {
          this.log('warn', 'recipient.failed', { subscriberId: r.id, email: r.email, reply: result.response });
        }
        return;
    }
  }

  /** A 4xx: retry with backoff within the run, then leave it 'deferred' for the next run. */
  private deferOrRetry(r: Recipient, reply: string): void {
    const { config, store } = this.deps;
    r.deferrals++;
    if (r.deferrals <= config.smtp.retryAttempts) {
      const delay = config.smtp.retryBackoffMs * 2 ** (r.deferrals - 1);
      this.queue.retryAt(r, realClock.now() + delay);
      this.log('info', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: delay });
      return;
    }
    this.counts.deferredLeft++;
    this.log('warn', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: null, note: 'left for the next run' });
    if (store.recordSoftBounce(r.id, reply, config.smtp.softBounceLimit)) {
      this.log('warn', 'subscriber.suppressed', { subscriberId: r.id, email: r.email, reason: 'soft bounces', reply });
    }
  }

  /** A connection-level failure: in doubt if the data may have arrived, else retried after a pause. */
  private recordConnectionLoss(r: Recipient, messageId: string, error: TransportError, epoch: number): void {
    const { config } = this.deps;
    const reply = `${error.code ?? 'connection error'}: ${error.message}`;
    if (error.inDoubt) {
      this.ledger.record({ subscriberId: r.id, state: 'in_doubt', reply: `connection lost after the message data was sent: ${reply}`, messageId }, r.email);
      this.counts.inDoubt++;
      this.log('warn', 'recipient.in_doubt', { subscriberId: r.id, email: r.email, reply });
    } else {
      // Not sent: 'deferred' (what the next run sees if this one stops) and queued again, unless
      // this recipient keeps failing while others get through (then the next run tries it).
      this.ledger.record({ subscriberId: r.id, state: 'deferred', reply: `not sent, connection failed: ${reply}`, messageId }, r.email);
      r.connectionFailures++;
      if (r.connectionFailures <= config.smtp.retryAttempts) {
        this.queue.retryAt(r, 0);
      } else {
        this.counts.deferredLeft++;
        this.log('warn', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: null, note: 'left for the next run' });
      }
    }
    if (error.credentialsRefused) {
      // A wrong user name or password does not get better with retries: stop now, nothing lost.
      this.stopWith('smtp-auth', `the SMTP server refused the credentials in SMTP_URL: ${reply}`);
      return;
    }
    if (error.starttlsRefused) {
      // Nor does a relay without STARTTLS when TLS is required (we never send in clear).
      this.stopWith('smtp-unreachable', reply);
      return;
    }
    const verdict = this.outage.failed(epoch);
    if (verdict.action === 'give-up') {
      this.stopWith('smtp-unreachable', `the SMTP server did not come back after ${verdict.failures - 1} retries: ${reply}`);
    } else if (verdict.fresh) {
      this.log('warn', 'run.paused', { reason: reply, pauseMs: verdict.pauseMs, retry: verdict.failures });
    }
  }

  private stopWith(reason: NonNullable<SendSummary['stopped']>['reason'], message: string): void {
    if (this.stop.signal.aborted) return;
    this.stopped = { reason, message };
    this.log('error', 'run.stopped', { reason, message });
    this.stop.abort();
  }

  /** How long to sleep when no reply is pending; undefined = only a reply can change anything. */
  private idleTimer(): number | undefined {
    if (this.stop.signal.aborted || this.inFlight >= this.slots) return undefined;
    if (this.outage.paused) return Math.max(1, this.outage.remainingMs);
    const rate = this.limiter.nextFreeIn();
    if (rate > 0) return rate;
    // The rate limit refused a recipient in claimNext and has freed a slot since (the step's
    // transaction took that long): go again now. Only an exhausted store may end the run.
    if (!this.queue.storeExhausted) return 0;
    return this.queue.nextDueIn(realClock.now());
  }

  private progress(force = false): void {
    if (!this.options.onProgress) return;
    const now = performance.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    const elapsedMs = now - this.started;
    const skipped = this.queue.skipped.final + this.queue.skipped.suppressed;
    const c = this.counts;
    this.options.onProgress({
      editionId: this.options.edition.id,
      total: this.total,
      done: skipped + c.sent + c.failed + c.bounced + c.deferredLeft + c.inDoubt,
      sent: c.sent,
      failed: c.failed,
      bounced: c.bounced,
      deferred: c.deferredLeft,
      inDoubt: c.inDoubt,
      skipped,
      elapsedMs,
      msgsPerSecond: elapsedMs > 0 ? (c.sent * 1000) / elapsedMs : 0,
    });
  }

  /** Marks the edition sent when everyone is final, and says what the run did. */
  private finishRun(): SendSummary {
    const { edition } = this.options;
    // Recipients still waiting for a retry when the run stopped are 'deferred' in the ledger already.
    const ledgerCounts = this.ledger.counts();
    const complete =
      !this.stop.signal.aborted && this.queue.storeExhausted && this.queue.pendingRetries() === 0 && ledgerCounts.deferred === 0 && ledgerCounts.sending === 0;
    finishEditionRun(this.deps.db, edition.id, this.clock, complete, this.runNumber);
    this.progress(true);

    const durationMs = performance.now() - this.started;
    const c = this.counts;
    const summary: SendSummary = {
      editionId: edition.id,
      total: this.total,
      sent: c.sent,
      failed: c.failed,
      bounced: c.bounced,
      deferred: ledgerCounts.deferred,
      inDoubt: [...this.ledger.rows(['in_doubt'])].map((r) => r.email),
      skipped: this.queue.skipped.final + this.queue.skipped.suppressed,
      durationMs,
      msgsPerSecond: durationMs > 0 ? (c.sent * 1000) / durationMs : 0,
      interrupted: !!this.options.signal?.aborted,
      alreadyComplete: complete && c.attempted === 0 && c.failed === 0,
      dryRun: false,
      wouldSend: 0,
      ...(this.stopped ? { stopped: this.stopped } : {}),
      policyRejections: c.policy,
      complete,
      ledger: ledgerCounts,
    };
    this.log('info', 'run.done', { ...summary, inDoubt: summary.inDoubt.length });
    return summary;
  }
}
