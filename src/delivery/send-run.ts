import { archiveCopy } from '../render/render-edition.ts';
import { isPolicyRejection, isSoftBounceReply } from './classify.ts';
import { CLAIM_POLL_MS, type Claim, type RecipientClaims } from '../store/claims.ts';
import { isTransientStoreError } from '../store/dialect.ts';
import { finishEditionRun, upsertEditionRow } from '../store/editions.ts';
import { Ledger, LedgerBatch } from '../store/ledger.ts';
import { RecipientFlags } from '../store/recipient-flags.ts';
import type { SendLock } from '../store/send-lock.ts';
import { SubscriberStore } from '../store/subscribers.ts';
import { TransportError } from './errors.ts';
import { buildMessageBytes, newMessageId, type MessageTemplate } from './mime.ts';
import { OutageGate } from './outage.ts';
import { RateLimiter, realClock } from './rate-limit.ts';
import { RecipientQueue, claimedPages, keysetPages, type Recipient } from './recipients.ts';
import type { SendDeps, SendLogLevel, SendOptions, SenderStore, SendSummary } from './send-types.ts';
import type { SendResult } from './transport.ts';
import { verpEnvelopeSender } from '../bounces/verp.ts';
import { loadSecret } from '../store/secret.ts';
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

/** One recipient's copy, built and marked 'sending', ready to go on the wire. */
interface Copy {
  recipient: Recipient;
  raw: Buffer[];
  messageId: string;
}

const PROGRESS_EVERY_MS = 200;

/**
 * How this run shares the edition: alone under the edition's send lock (SQLite: a second run
 * refuses), or with any number of other senders by claiming batches of recipients (PostgreSQL).
 */
export type Coordination = { mode: 'lock'; lock: SendLock } | { mode: 'claims'; claims: RecipientClaims };

/** How long the run waits for an unreachable database before giving up (pauses double from 500 ms up to 15 s). @default 120 s */
export const DB_OUTAGE_GIVE_UP_MS = 120_000;

/**
 * One run of the dispatch loop over an edition's recipients, under the edition's send lock or
 * sharing it with other senders by claims (see Coordination).
 * The loop reads as its steps: `claimNext` (record the replies that arrived, mark the next
 * recipients 'sending'), `sendCopy`, and on each reply `recordReply` / `recordConnectionLoss`,
 * which `deferOrRetry`; `finishRun` writes the summary.
 *
 * Invariants:
 * - One loop (not one per connection) owns every ledger write, so each wake-up commits, in ONE
 *   transaction, the replies that arrived since the last one and the 'sending' rows of the
 *   recipients it dispatches next.
 * - A row is 'sending' before its SMTP transaction starts (marked in the transaction that commits
 *   before `transport.send` is called).
 * - A row becomes 'in_doubt' (committed) before its end-of-data `.` is written, and the reply
 *   replaces it. After a kill -9, a row still 'sending' certainly did not arrive and is sent again;
 *   only rows already 'in_doubt' may have.
 * - A connection slot is reused only in the transaction that records its previous reply, so at
 *   any commit at most `maxConnections` rows are 'sending' or awaiting their reply in doubt: a kill -9
 *   leaves at most that many in doubt.
 * - When the loop returns, every reply that arrived is recorded (nothing is in flight).
 * - With claims, a claim is completed only after the commit that recorded the last of its
 *   recipients; a claim left unfinished is given back when the run ends.
 * - A commit that fails because the database went away is tried again, the same batch, after a
 *   pause (nothing of it was written); meanwhile nothing new is dispatched and end-of-data gates
 *   stay closed, so no copy goes out that the ledger does not know about.
 */
export class SendRun {
  private readonly started = performance.now();
  private readonly ledger: Ledger;
  private readonly subscribers: SenderStore;
  private readonly queue: RecipientQueue;
  private readonly slots: number;
  private readonly limiter: RateLimiter;
  private readonly outage: OutageGate;
  /** Signs each copy's VERP envelope sender (src/bounces/verp.ts); read at the start of the run. */
  private bounceSecret = '';
  private readonly wakeUp = new WakeUp();
  /** Stops the run: the caller's signal, a lost lease, or an unreachable server. */
  private readonly stop = new AbortController();
  private stopped: SendSummary['stopped'];
  private readonly counts = { sent: 0, failed: 0, bounced: 0, deferredLeft: 0, inDoubt: 0, policy: 0, attempted: 0 };
  private inFlight = 0;
  private readonly completed: Completion[] = [];
  /** Addresses of the soft bounces in the batch being built, to name a subscriber the commit suppressed. */
  private readonly softBounced = new Map<number, string>();
  /** Copies whose data is on the wire but for the end-of-data, waiting to be marked in doubt first. */
  private readonly endingData: { recipient: Recipient; release: (error?: Error) => void }[] = [];
  private total = 0;
  /** This run's number in the edition's run history (edition_runs). */
  private runNumber = 0;
  private lastProgress = 0;
  /** A page (or claim) being read in the background, and its failure. */
  private reading: Promise<void> | undefined;
  private readError: unknown;

  constructor(
    private readonly deps: SendDeps,
    private readonly options: SendOptions,
    private readonly template: MessageTemplate,
    private readonly coordination: Coordination,
    private readonly clock: () => Date,
    private readonly log: Log,
  ) {
    const { config, store } = deps;
    const kind = options.edition.kind;
    this.ledger = new Ledger(store, options.edition.id, clock);
    this.subscribers = deps.subscribers ?? new SubscriberStore(store, clock);
    this.slots = Math.max(1, config.smtp.maxConnections);
    const pages =
      coordination.mode === 'claims'
        ? claimedPages(this.subscribers, coordination.claims, kind, (claim) => this.onClaim(claim))
        : keysetPages(this.subscribers, kind);
    this.queue = new RecipientQueue(pages, this.ledger, {
      resendUnknown: !!options.resendUnknown,
      flags: new RecipientFlags(store),
      pollMs: CLAIM_POLL_MS,
      onSkip: (s, why) => this.log('debug', 'recipient.skipped', { subscriberId: s.id, email: s.email, why }),
    });
    this.limiter = new RateLimiter(config.smtp.rateLimit);
    this.outage = new OutageGate(config.smtp.retryAttempts, config.smtp.retryBackoffMs);
  }

  /** Runs the loop to the end (everyone final, stopped, or interrupted) and summarises it. */
  async execute(): Promise<SendSummary> {
    const leftovers = await this.begin();
    const onAbort = () => {
      this.log('warn', 'run.interrupted', { inFlight: this.inFlight });
      this.stop.abort();
    };
    this.stop.signal.addEventListener('abort', this.wakeUp.notify);
    if (this.options.signal?.aborted) onAbort();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    const c = this.coordination;
    if (c.mode === 'lock') c.lock.startHeartbeat(() => this.stopWith('lock-lost', `another run took over the send lock of ${this.options.edition.id}`));
    else c.claims.startHeartbeat((claim) => this.onClaimLost(claim));
    this.log('info', 'run.start', {
      total: this.total,
      transport: this.deps.transport.kind,
      maxConnections: this.slots,
      leftoversInDoubt: leftovers.length,
      shared: c.mode === 'claims',
      run: this.runNumber,
    });
    try {
      await this.loop();
    } finally {
      await this.reading; // a claim being read belongs to this run: released below if unfinished
      if (c.mode === 'lock') c.lock.stopHeartbeat();
      else c.claims.stopHeartbeat();
      this.options.signal?.removeEventListener('abort', onAbort);
      // Only reached with copies waiting here when the loop threw: their end-of-data never goes out.
      for (const e of this.endingData.splice(0)) e.release(new Error('the send run ended before the end of the message data'));
    }
    if (c.mode === 'claims') {
      // Give back what this run did not finish (stopped, interrupted): other senders take it at once.
      for (const claim of this.queue.unfinishedClaims()) await c.claims.release(claim).catch(() => undefined);
    }
    return this.finishRun();
  }

  /**
   * Records the run. Alone under the lease, rows a dead run left mid-transaction are leftovers: those
   * whose end-of-data never went out are sent again, those whose end-of-data may have arrived stay
   * in doubt. With claims, the same split happens per range when a dead sender's claim is taken over.
   */
  private async begin(): Promise<string[]> {
    const { edition, rendered } = this.options;
    const archive = archiveCopy(this.options.archiveRendered ?? rendered, this.deps.config.baseUrl);
    this.runNumber = await upsertEditionRow(this.deps.store, { edition, archive }, this.clock);
    let inDoubt: string[] = [];
    if (this.coordination.mode === 'lock') {
      const leftovers = await this.ledger.takeLeftovers();
      this.logLeftovers(leftovers.resent, leftovers.inDoubt);
      inDoubt = leftovers.inDoubt;
    } else {
      await this.coordination.claims.join();
    }
    this.total = await this.subscribers.countActive(edition.kind);
    this.bounceSecret = await loadSecret(this.deps.store, this.deps.config);
    return inDoubt;
  }

  private logLeftovers(resent: string[], inDoubt: string[], fields: Record<string, unknown> = {}): void {
    if (resent.length > 0) this.log('warn', 'leftovers.resent', { count: resent.length, emails: resent, ...fields });
    if (inDoubt.length > 0) this.log('warn', 'leftovers.in_doubt', { count: inDoubt.length, emails: inDoubt, ...fields });
  }

  /** A claim taken: the leftovers of a dead sender in its range were split already (claims.ts). */
  private onClaim(claim: Claim): void {
    if (claim.tookOverFrom) this.log('warn', 'claim.takeover', { fromId: claim.fromId, toId: claim.toId, previousOwner: claim.tookOverFrom });
    this.logLeftovers(claim.leftoversResent, claim.leftoversInDoubt, { fromId: claim.fromId, toId: claim.toId });
  }

  /** Our lease on a claim lapsed and another sender took it: stop sending its recipients. */
  private onClaimLost(claim: Claim): void {
    const dropped = this.queue.dropClaim(claim);
    this.log('warn', 'claim.lost', { fromId: claim.fromId, toId: claim.toId, dropped });
    this.wakeUp.notify();
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (!this.stop.signal.aborted && !this.outage.paused) await this.readAhead();
      const copies = await this.claimNext();
      this.limiter.restampLast(copies.length); // their rate slots count from the hand-over, after the commit
      for (const copy of copies) this.sendCopy(copy);
      this.progress();
      if (this.completed.length > 0 || this.endingData.length > 0) continue;
      if (this.inFlight === 0 && copies.length === 0) {
        if (this.stop.signal.aborted) return;
        if (this.reading) {
          await this.settleReading();
          continue;
        }
        const timer = this.idleTimer();
        if (timer === undefined) return; // stopped, or nothing in flight, nothing to retry, store exhausted
        await this.wakeUp.next(timer);
        continue;
      }
      await this.wakeUp.next(this.idleTimer());
    }
  }

  /**
   * Reads the next page (or claim) in the background once fewer recipients are ready than two
   * steps' worth, so the connections do not wait for the read; waits for it only when nobody is
   * ready. Reads happen outside the commit; a page is added to the queue in one synchronous step.
   */
  private async readAhead(): Promise<void> {
    if (!this.reading && this.queue.ready < 2 * this.slots && !this.queue.storeExhausted) {
      this.reading = this.retryingStore('read recipients', () => this.queue.fill(2 * this.slots, realClock.now()))
        .catch((error: unknown) => {
          this.readError = error;
        })
        .finally(() => {
          this.reading = undefined;
          this.wakeUp.notify();
        });
    }
    if (this.queue.ready === 0) await this.settleReading();
  }

  /** Waits for a read in progress; rethrows its failure. */
  private async settleReading(): Promise<void> {
    if (this.reading) await this.reading;
    if (this.readError) throw this.readError;
  }

  /**
   * One wake-up, in one transaction: record the replies that arrived, mark in doubt the copies about
   * to send their end-of-data (released once that commits), then take and mark the next recipients.
   * Writes are collected synchronously in a batch and committed once.
   */
  private async claimNext(): Promise<Copy[]> {
    const ending = this.endingData.splice(0);
    const batch = new LedgerBatch();
    for (const s of this.queue.drainSkips()) batch.record({ subscriberId: s.id, state: 'skipped', reply: 'suppressed address', messageId: null }, s.email);
    for (const c of this.completed.splice(0)) this.recordCompletion(c, batch);
    for (const e of ending) batch.markEndOfData(e.recipient.id);
    const copies = this.takeRecipients(batch);
    let suppressed: number[];
    try {
      ({ suppressedBySoftBounces: suppressed } = await this.retryingStore('record the replies', () => this.ledger.commit(batch)));
    } catch (error) {
      for (const e of ending) e.release(error as Error);
      throw error;
    }
    for (const e of ending) e.release();
    for (const id of suppressed) this.log('warn', 'subscriber.suppressed', { subscriberId: id, email: this.softBounced.get(id), reason: 'soft bounces' });
    this.softBounced.clear();
    if (this.coordination.mode === 'claims') {
      const claims = this.coordination.claims;
      for (const claim of this.queue.drainFinishedClaims()) await this.retryingStore('complete a claim', () => claims.complete(claim));
    }
    return copies;
  }

  /**
   * Runs a database step; when the database is unreachable for a moment (PostgreSQL restarting, a
   * network cut), pauses and tries the same step again, like an SMTP outage. Gives up after
   * DB_OUTAGE_GIVE_UP_MS with an error: what was committed is kept, and the next run resumes.
   */
  private async retryingStore<T>(what: string, step: () => Promise<T>): Promise<T> {
    const started = realClock.now();
    let pauseMs = 500;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await step();
        if (attempt > 1) this.log('warn', 'run.resumed', { reason: 'database reachable again', pausedMs: Math.round(realClock.now() - started) });
        return result;
      } catch (error) {
        const giveUpMs = this.options.dbOutageGiveUpMs ?? DB_OUTAGE_GIVE_UP_MS;
        if (!isTransientStoreError(this.deps.store, error) || realClock.now() - started >= giveUpMs) throw error;
        const reason = `database unreachable (${what}): ${(error as Error).message}`;
        this.log('warn', 'run.paused', { reason, failure: reason, pauseMs, retry: attempt });
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        pauseMs = Math.min(pauseMs * 2, 15_000);
      }
    }
  }

  /** Takes recipients while a connection is free and the rate allows, marking each 'sending' (inside claimNext's transaction). */
  private takeRecipients(batch: LedgerBatch): Copy[] {
    const copies: Copy[] = [];
    while (!this.stop.signal.aborted && !this.outage.paused && this.inFlight + copies.length < this.slots) {
      const next = this.queue.take(realClock.now());
      if (next === 'wait' || next === 'done') break;
      if (!this.limiter.tryAcquire()) {
        this.queue.putBack(next);
        break;
      }
      const copy = this.buildCopy(next, batch);
      if (!copy) continue;
      batch.markSending(next.id, next.email, copy.messageId); // committed before the SMTP call
      copies.push(copy);
    }
    return copies;
  }

  /** The transport's end-of-data gate: resolves once the copy is recorded as possibly delivered. */
  private beforeEndOfData(recipient: Recipient): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.endingData.push({ recipient, release: (error) => (error ? reject(error) : resolve()) });
      this.wakeUp.notify();
    });
  }

  /** Builds a recipient's copy; a failure is recorded as 'failed' for that recipient only. */
  private buildCopy(r: Recipient, batch: LedgerBatch): Copy | undefined {
    const { config } = this.deps;
    const messageId = newMessageId(config.mailDomain);
    try {
      const links = this.deps.links(r.id, this.options.edition.kind);
      return { recipient: r, raw: buildMessageBytes(this.template, { to: r.email, links, messageId, date: this.clock() }), messageId };
    } catch (cause) {
      const reply = `cannot build the message: ${(cause as Error).message}`;
      batch.record({ subscriberId: r.id, state: 'failed', reply, messageId: null }, r.email);
      this.queue.settle(r);
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
        beforeEndOfData: () => this.beforeEndOfData(recipient),
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

  private recordCompletion(c: Completion, batch: LedgerBatch): void {
    if (c.result) return this.recordReply(c.recipient, c.messageId, c.result, batch);
    if (c.error instanceof TransportError) return this.recordConnectionLoss(c.recipient, c.messageId, c.error, c.epoch, batch);
    // A bug or an unknown failure inside the transport: we cannot tell whether it went out.
    const reply = `unexpected error: ${(c.error as Error)?.message ?? String(c.error)}`;
    batch.record({ subscriberId: c.recipient.id, state: 'in_doubt', reply, messageId: c.messageId }, c.recipient.email);
    this.queue.settle(c.recipient);
    this.counts.inDoubt++;
    this.log('error', 'recipient.in_doubt', { subscriberId: c.recipient.id, email: c.recipient.email, reply });
  }

  /** Records a server reply for one recipient (inside claimNext's transaction). */
  private recordReply(r: Recipient, messageId: string, result: SendResult, batch: LedgerBatch): void {
    const { config } = this.deps;
    this.outage.succeeded();
    const row = { subscriberId: r.id, messageId, reply: result.response };
    switch (result.status) {
      case 'sent':
        batch.record({ ...row, state: 'sent' }, r.email);
        if (r.softBounced) batch.resetSoftBounces(r.id);
        this.queue.settle(r);
        this.counts.sent++;
        this.log('debug', 'recipient.sent', { subscriberId: r.id, email: r.email, messageId });
        return;
      case 'bounced':
        batch.record({ ...row, state: 'bounced' }, r.email);
        batch.suppress(r.id, 'bounced', result.response);
        this.queue.settle(r);
        this.counts.bounced++;
        this.log('warn', 'recipient.bounced', { subscriberId: r.id, email: r.email, reply: result.response });
        return;
      case 'deferred':
        batch.record({ ...row, state: 'deferred' }, r.email);
        this.deferOrRetry(r, result.response, batch);
        return;
      case 'failed':
        batch.record({ ...row, state: 'failed' }, r.email);
        this.queue.settle(r);
        this.counts.failed++;
        // A suppression it causes is logged after the commit (subscriber.suppressed).
        if (isSoftBounceReply(result)) {
          batch.recordSoftBounce(r.id, result.response, config.smtp.softBounceLimit);
          this.softBounced.set(r.id, r.email);
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
  private deferOrRetry(r: Recipient, reply: string, batch: LedgerBatch): void {
    const { config } = this.deps;
    r.deferrals++;
    if (r.deferrals <= config.smtp.retryAttempts) {
      const delay = config.smtp.retryBackoffMs * 2 ** (r.deferrals - 1);
      this.queue.retryAt(r, realClock.now() + delay);
      this.log('info', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: delay });
      return;
    }
    this.counts.deferredLeft++;
    this.queue.settle(r);
    this.log('warn', 'recipient.deferred', { subscriberId: r.id, email: r.email, reply, retryInMs: null, note: 'left for the next run' });
    batch.recordSoftBounce(r.id, reply, config.smtp.softBounceLimit);
    this.softBounced.set(r.id, r.email);
  }

  /** A connection-level failure: in doubt if the data may have arrived, else retried after a pause. */
  private recordConnectionLoss(r: Recipient, messageId: string, error: TransportError, epoch: number, batch: LedgerBatch): void {
    const { config } = this.deps;
    const reply = `${error.code ?? 'connection error'}: ${error.message}`;
    if (error.inDoubt) {
      batch.record({ subscriberId: r.id, state: 'in_doubt', reply: `connection lost after the message data was sent: ${reply}`, messageId }, r.email);
      this.queue.settle(r);
      this.counts.inDoubt++;
      this.log('warn', 'recipient.in_doubt', { subscriberId: r.id, email: r.email, reply });
    } else {
      // Not sent: 'deferred' (what the next run sees if this one stops) and queued again, unless
      // this recipient keeps failing while others get through (then the next run tries it).
      batch.record({ subscriberId: r.id, state: 'deferred', reply: `not sent, connection failed: ${reply}`, messageId }, r.email);
      r.connectionFailures++;
      if (r.connectionFailures <= config.smtp.retryAttempts) {
        this.queue.retryAt(r, 0);
      } else {
        this.counts.deferredLeft++;
        this.queue.settle(r);
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
      // `failure` names the server's fault without the recipient that happened to meet it.
      const failure = `SMTP server unreachable: ${error.cause instanceof Error ? error.cause.message : reply}`;
      this.log('warn', 'run.paused', { reason: reply, failure, pauseMs: verdict.pauseMs, retry: verdict.failures, retries: config.smtp.retryAttempts });
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
    // transaction took that long): go again now. Only an exhausted store may end the run; when other
    // senders hold every claim left, ask again after the poll interval.
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
  private async finishRun(): Promise<SendSummary> {
    const { edition } = this.options;
    // Recipients still waiting for a retry when the run stopped are 'deferred' in the ledger already.
    const ledgerCounts = await this.ledger.counts();
    const complete =
      !this.stop.signal.aborted &&
      this.queue.storeExhausted &&
      this.queue.ready === 0 &&
      this.queue.pendingRetries() === 0 &&
      ledgerCounts.deferred === 0 &&
      ledgerCounts.sending === 0;
    await finishEditionRun(this.deps.store, edition.id, this.clock, complete, this.runNumber);
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
      inDoubt: await inDoubtEmails(this.ledger, ['in_doubt']),
      skipped: this.queue.skipped.final + this.queue.skipped.suppressed,
      skippedAs: this.queue.skippedAs(),
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

/** Addresses of the ledger rows in `states`, in subscriber id order. */
export async function inDoubtEmails(ledger: Ledger, states: Parameters<Ledger['rows']>[0]): Promise<string[]> {
  const emails: string[] = [];
  for await (const r of ledger.rows(states)) emails.push(r.email);
  return emails;
}
