import cron, { type ScheduledTask } from 'node-cron';
import { KINDS, type Config, type Kind } from '../config.ts';
import { editionStatus } from '../store/editions.ts';
import { storedEdition } from '../store/stored-editions.ts';
import { EditionFires, FIRE_HEARTBEAT_MS, FIRE_LEASE_MS, type FireResult } from '../store/fires.ts';
import type { Store } from '../store/handle.ts';
import { Heartbeat } from '../store/heartbeat.ts';
import { latestEdition, nextEdition, nextInstants, type EditionSlot } from '../editions/calendar.ts';
import { errorText, type Logger } from '../log.ts';

/** What one attempt to send an edition came to. */
export type RunOutcome =
  /** every recipient reached a final state */
  | 'sent'
  /** some recipients are deferred or the run stopped; a later attempt resumes it */
  | 'partial'
  /** no news in the window: skipped */
  | 'empty'
  /** another process holds the edition's send lock */
  | 'locked'
  /** content failed validation: nothing was sent */
  | 'invalid-content'
  /** the pre-send checks or the transport failed before anyone got it */
  | 'failed'
  /** SIGTERM arrived mid-send */
  | 'stopped'
  /** another scheduler on the same database fired it (it runs it, or its next attempt is not due yet) */
  | 'elsewhere'
  /** not approved (ALMANAC_APPROVAL=required) or held: not sent until it is approved or released */
  | 'awaiting-approval';

export interface RunResult {
  outcome: RunOutcome;
  /** One line for the log, e.g. the counts or the content problems. */
  detail: string;
  problems?: string[];
}

/** The detail of an edition with no news in its window. */
export const EMPTY_DETAIL = 'no news in the window; not sent';

/** Sends one edition by the same path as `almanac send <kind> --date <date>`. */
export type EditionRunner = (kind: Kind, date: string, signal: AbortSignal) => Promise<RunResult>;

/** What sending an upcoming edition's review copies came to (src/publish/review-copies.ts). */
export interface ReviewRunResult {
  key: string;
  sent: string[];
  failed: { email: string; reason: string }[];
  problems?: string[];
}

/** Sends the editors' [REVIEW] copies of an upcoming edition, once per edition and composition. */
export type ReviewRunner = (slot: EditionSlot) => Promise<ReviewRunResult>;

export interface SchedulerOptions {
  config: Config;
  /** The database (SQLite or PostgreSQL), shared with the sends. */
  store: Store;
  run: EditionRunner;
  /** Whether an edition has no news, so a missed one is not reported as stale "to send by hand"; undefined when the content cannot tell. */
  isEmpty?: (kind: Kind, date: string) => Promise<boolean | undefined>;
  /** Sends review copies ALMANAC_REVIEW_LEAD_HOURS before each send time; none when unset (no ALMANAC_EDITORS). */
  review?: ReviewRunner;
  log: Logger;
  /** The scheduler's idea of now; tests inject one. @default () => new Date() */
  clock?: () => Date;
  /** How often the watchdog looks for missed or unfinished editions. @default 30_000 */
  tickMs?: number;
  /** A tick later than this means the machine slept or the process was paused. @default 90_000 */
  wakeThresholdMs?: number;
  /** Wait between attempts at an unfinished edition within its grace period. @default 300_000 */
  retryMs?: number;
  /** Another scheduler takes over an edition this long after this one stopped renewing its fire. @default FIRE_LEASE_MS */
  fireLeaseMs?: number;
  /** How often a running edition's fire is renewed. @default FIRE_HEARTBEAT_MS */
  fireHeartbeatMs?: number;
}

/** What /healthz shows about the scheduler. */
export interface SchedulerHealth {
  running: boolean;
  timezone: string;
  next: Record<Kind, string>;
  last: Partial<Record<Kind, { edition: string; outcome: RunOutcome; at: string; detail: string }>>;
  /** Set while the last attempt at some edition failed (invalid content, transport). */
  error: string | null;
  /** Editions due but not sent because they are not approved (ALMANAC_APPROVAL=required) or held. */
  awaitingApproval: Partial<Record<Kind, { edition: string; since: string; detail: string }>>;
}

/**
 * Sends Midweek and Sunday at their instants with node-cron, catches up missed editions within the
 * grace period (at start, after a wake, on a retry timer), and never runs one kind twice at once.
 * Across processes and hosts on one database, each edition is fired once (src/store/fires.ts): the
 * first scheduler to ask runs it, the others log `schedule.elsewhere` and take it over only when
 * that scheduler dies; an unfinished edition is retried once per retry interval by whichever asks
 * first. Below that, the send path keeps each recipient to one copy whoever sends: on SQLite the
 * edition's send lock lets one run at a time, on PostgreSQL every sender joins the edition's claims.
 */
export class Scheduler {
  private readonly clock: () => Date;
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Map<Kind, Promise<void>>();
  private readonly lastAttempt = new Map<string, number>();
  private readonly reportedStale = new Set<string>();
  private readonly reportedElsewhere = new Map<string, string>();
  private readonly reportedAwaiting = new Map<string, string>();
  private readonly fires: EditionFires;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private health: SchedulerHealth;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.fires = new EditionFires(options.store, undefined, this.clock, options.fireLeaseMs ?? FIRE_LEASE_MS);
    this.health = { running: false, timezone: options.config.timezone, next: this.nextInstants(), last: {}, error: null, awaitingApproval: {} };
  }

  /** Cron expression for a kind: minute hour * * weekday. */
  static cronExpression(config: Config, kind: Kind): string {
    const at = config.schedule[kind];
    return `${at.minute} ${at.hour} * * ${at.weekday}`;
  }

  /** Starts the cron jobs and the watchdog, and catches up at once. Resolves when the catch-up is done. */
  async start(): Promise<void> {
    const { config, log } = this.options;
    for (const kind of KINDS) {
      const task = cron.schedule(Scheduler.cronExpression(config, kind), () => this.reconcile(kind, 'fire'), {
        name: `almanac-${kind}`,
        timezone: config.timezone,
        noOverlap: true,
        // A late fire is caught up by the watchdog, which knows the grace period.
        suppressMissedWarning: true,
      });
      task.on('execution:missed', () => log('schedule.missed-fire', { kind }));
      this.tasks.push(task);
    }
    this.health.running = true;
    this.lastTick = this.clock().getTime();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 30_000);
    log('schedule.started', { timezone: config.timezone, next: this.nextInstants() });
    await this.catchUp('start');
  }

  /** Looks at the latest edition of every kind and sends what is due. */
  async catchUp(reason: string): Promise<void> {
    await Promise.all(KINDS.map((kind) => this.reconcile(kind, reason)));
    await this.reviewDue();
  }

  /** Watchdog: after a wake, or when an unfinished edition's retry is due, catch up. */
  async tick(): Promise<void> {
    const now = this.clock().getTime();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (gap > (this.options.wakeThresholdMs ?? 90_000)) {
      this.options.log('schedule.wake', { pausedMs: gap });
      await this.catchUp('wake');
      return;
    }
    const retryMs = this.options.retryMs ?? 300_000;
    const due = KINDS.filter((kind) => {
      const last = this.health.last[kind];
      if (!last || last.outcome === 'sent' || last.outcome === 'empty' || last.outcome === 'stopped') return false;
      // Fired elsewhere: ask again every tick (one query) so a dead scheduler's edition is taken over soon.
      // Awaiting approval: likewise, so an edition approved within the grace period goes out at once.
      if (last.outcome === 'elsewhere' || last.outcome === 'awaiting-approval') return true;
      return now - (this.lastAttempt.get(last.edition) ?? 0) >= retryMs;
    });
    await Promise.all(due.map((kind) => this.reconcile(kind, 'retry')));
    await this.reviewDue();
  }

  /**
   * Sends the review copies of each kind's next edition once its review time has come
   * (ALMANAC_REVIEW_LEAD_HOURS before its send time, or now when the scheduler starts later than that).
   * The runner sends each editor one copy per edition and composition, so asking every tick is cheap.
   */
  private async reviewDue(): Promise<void> {
    const review = this.options.review;
    if (!review || this.abort.signal.aborted) return;
    const { config, log } = this.options;
    const now = this.clock();
    for (const kind of KINDS) {
      const slot = nextEdition(kind, now, config);
      if (now.getTime() < slot.sendAt.getTime() - config.review.leadMs) continue;
      try {
        const result = await review(slot);
        if (result.sent.length > 0) log('schedule.review-sent', { editionId: slot.id, to: result.sent, composition: result.key });
        if (result.failed.length > 0) log('schedule.review-failed', { editionId: slot.id, level: 'warn', failed: result.failed });
        if (result.problems) log('schedule.review-failed', { editionId: slot.id, level: 'warn', detail: 'the content is invalid: no review copy could be made', problems: result.problems });
      } catch (error) {
        log('schedule.review-failed', { editionId: slot.id, level: 'warn', error: errorText(error) });
      }
    }
  }

  /**
   * Sends the latest edition of `kind` if it is due: its instant has passed, it is within the grace
   * period, and it is not already fully sent. One attempt per kind at a time in this process.
   */
  reconcile(kind: Kind, reason: string): Promise<void> {
    const running = this.inFlight.get(kind);
    if (running) return running;
    const attempt = this.attempt(kind, reason).finally(() => this.inFlight.delete(kind));
    this.inFlight.set(kind, attempt);
    return attempt;
  }

  private async attempt(kind: Kind, reason: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    const slot = latestEdition(kind, this.clock(), this.options.config);
    try {
      await this.attemptSlot(slot, reason);
    } catch (error) {
      // The database could not be asked (an outage): the watchdog tries again on its next retry.
      this.lastAttempt.set(slot.id, this.clock().getTime());
      this.record(kind, slot, { outcome: 'failed', detail: `the database could not be reached: ${errorText(error)}` });
    }
  }

  private async attemptSlot(slot: EditionSlot, reason: string): Promise<void> {
    const { config, log } = this.options;
    const kind = slot.kind;
    const now = this.clock();
    this.health.next = this.nextInstants();
    if (await this.isFinished(slot)) return;
    const lateMs = now.getTime() - slot.sendAt.getTime();
    if (lateMs > config.catchUpGraceMs) {
      if (this.health.awaitingApproval[kind]?.edition === slot.id) delete this.health.awaitingApproval[kind];
      if (!this.reportedStale.has(slot.id)) {
        this.reportedStale.add(slot.id);
        // An empty edition is never sent: say so, as a run on time would, instead of asking for a send by hand.
        if (await this.options.isEmpty?.(kind, slot.date)) return this.record(kind, slot, { outcome: 'empty', detail: EMPTY_DETAIL });
        log('schedule.skip-stale', {
          editionId: slot.id,
          level: 'warn',
          lateMinutes: Math.round(lateMs / 60_000),
          graceMinutes: Math.round(config.catchUpGraceMs / 60_000),
          hint: `older than the grace period; send it by hand with: npm run -s almanac -- send ${kind} --date ${slot.date}`,
        });
      }
      return;
    }
    const waiting = await this.approvalWait(slot);
    if (waiting) {
      this.awaitApproval(slot, waiting);
      return;
    }
    if (this.health.awaitingApproval[kind]?.edition === slot.id) delete this.health.awaitingApproval[kind];
    const fire = await this.fires.take(slot.id);
    if (!fire.taken) {
      this.firedElsewhere(slot, fire);
      return;
    }
    this.reportedElsewhere.delete(slot.id);
    this.lastAttempt.set(slot.id, now.getTime());
    log('schedule.run', {
      editionId: slot.id,
      reason,
      lateSeconds: Math.round(lateMs / 1000),
      attempt: fire.attempt,
      ...(fire.tookOverFrom ? { tookOverFrom: fire.tookOverFrom } : {}),
    });
    const heartbeat = new Heartbeat();
    heartbeat.start(() => this.renewFire(slot), this.options.fireHeartbeatMs ?? FIRE_HEARTBEAT_MS);
    let result: RunResult;
    try {
      result = await this.options.run(kind, slot.date, this.abort.signal);
    } catch (error) {
      result = { outcome: 'failed', detail: errorText(error) };
    } finally {
      heartbeat.stop();
    }
    this.record(kind, slot, result);
    // Unrecorded, the fire's lease simply runs out: then any scheduler (this one too) may attempt it.
    await this.fires.finish(slot.id, this.nextAttemptAt(slot, result.outcome)).catch((error: unknown) => {
      log('schedule.fire-finish-failed', { editionId: slot.id, level: 'warn', error: errorText(error) });
    });
  }

  /**
   * Why a due edition may not be sent yet, or undefined: held, or (ALMANAC_APPROVAL=required) not
   * approved. An edition whose first copy went out already (a run resumed) is never waiting.
   */
  private async approvalWait(slot: EditionSlot): Promise<string | undefined> {
    const stored = await storedEdition(this.options.store, slot.id);
    if (stored?.firstCopyAt) return undefined;
    if (stored?.state === 'held') return `held (approved by ${stored.approvedBy}, then held); release it with: npm run -s almanac -- editions release ${slot.id}`;
    if (this.options.config.review.approval === 'required' && stored?.state !== 'approved') {
      return `not approved (ALMANAC_APPROVAL=required); approve it with: npm run -s almanac -- editions approve ${slot.kind} --date ${slot.date}`;
    }
    return undefined;
  }

  /** A due edition waits for approval: /healthz says so, and the log once per edition and reason; every tick asks again. */
  private awaitApproval(slot: EditionSlot, detail: string): void {
    const at = this.clock().toISOString();
    const since = this.health.awaitingApproval[slot.kind]?.edition === slot.id ? this.health.awaitingApproval[slot.kind]!.since : at;
    this.health.awaitingApproval[slot.kind] = { edition: slot.id, since, detail };
    this.health.last[slot.kind] = { edition: slot.id, outcome: 'awaiting-approval', at, detail };
    if (this.reportedAwaiting.get(slot.id) === detail) return;
    this.reportedAwaiting.set(slot.id, detail);
    const graceEnds = new Date(slot.sendAt.getTime() + this.options.config.catchUpGraceMs).toISOString();
    this.options.log('schedule.awaiting-approval', { editionId: slot.id, level: 'warn', detail, sendAt: slot.sendAt.toISOString(), graceEndsAt: graceEnds });
  }

  /** Another scheduler holds the edition: say so once per holder and state, and ask again on the next tick. */
  private firedElsewhere(slot: EditionSlot, fire: Extract<FireResult, { taken: false }>): void {
    const detail = fire.running ? `being sent by ${fire.owner}` : `last attempted by ${fire.owner}; next attempt not before ${fire.until}`;
    this.health.last[slot.kind] = { edition: slot.id, outcome: 'elsewhere', at: this.clock().toISOString(), detail };
    const seen = `${fire.owner}|${fire.running}`;
    if (this.reportedElsewhere.get(slot.id) === seen) return;
    this.reportedElsewhere.set(slot.id, seen);
    this.options.log('schedule.elsewhere', { editionId: slot.id, owner: fire.owner, running: fire.running, ...(fire.running ? {} : { nextAttemptAt: fire.until }) });
  }

  /** Renews the running edition's fire; a scheduler that lost it (a long pause) keeps sending: the claims prevent duplicates. */
  private async renewFire(slot: EditionSlot): Promise<void> {
    try {
      if (!(await this.fires.renew(slot.id))) this.options.log('schedule.fire-lost', { editionId: slot.id, level: 'warn', hint: 'another scheduler took this edition over after a pause; both send without duplicates' });
    } catch (error) {
      this.options.log('schedule.fire-renew-failed', { editionId: slot.id, level: 'warn', error: errorText(error) });
    }
  }

  /** When any scheduler may attempt the edition again after this attempt. */
  private nextAttemptAt(slot: EditionSlot, outcome: RunOutcome): Date {
    const now = this.clock().getTime();
    if (outcome === 'stopped') return new Date(now);
    if (outcome === 'sent' || outcome === 'empty') return new Date(Math.max(now, slot.sendAt.getTime() + this.options.config.catchUpGraceMs));
    return new Date(now + (this.options.retryMs ?? 300_000));
  }

  private record(kind: Kind, slot: EditionSlot, result: RunResult): void {
    const at = this.clock().toISOString();
    this.health.last[kind] = { edition: slot.id, outcome: result.outcome, at, detail: result.detail };
    const failed = result.outcome === 'invalid-content' || result.outcome === 'failed';
    if (failed) this.health.error = `${slot.id}: ${result.outcome}: ${result.detail}`;
    else if (this.health.error?.startsWith(slot.id)) this.health.error = null;
    this.options.log(`schedule.${result.outcome}`, {
      editionId: slot.id,
      level: failed ? 'error' : result.outcome === 'partial' || result.outcome === 'locked' ? 'warn' : 'info',
      detail: result.detail,
      ...(result.problems ? { problems: result.problems } : {}),
    });
  }

  /** True when the ledger says the edition is complete (or it was skipped as empty). */
  private async isFinished(slot: EditionSlot): Promise<boolean> {
    const status = await editionStatus(this.options.store, slot.id);
    if (status === 'sent' || status === 'skipped') return true;
    // An empty edition has no ledger row; this process remembers it was skipped.
    const last = this.health.last[slot.kind];
    return last?.edition === slot.id && last.outcome === 'empty';
  }

  /** The next send instant of each kind, ISO. */
  nextInstants(): Record<Kind, string> {
    const next = nextInstants(this.options.config, this.clock());
    return { midweek: next.midweek.utc, sunday: next.sunday.utc };
  }

  /** A snapshot for /healthz. */
  status(): SchedulerHealth {
    return structuredClone(this.health);
  }

  /** Stops the jobs; an in-flight send finishes its in-flight messages, records them, and returns. */
  async stop(): Promise<void> {
    for (const task of this.tasks) await task.destroy();
    this.tasks.length = 0;
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
    this.health.running = false;
    this.options.log('schedule.stopped');
  }
}
