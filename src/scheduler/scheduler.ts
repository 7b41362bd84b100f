import cron, { type ScheduledTask } from 'node-cron';
import { KINDS, type Config, type Kind } from '../config.ts';
import { editionStatus } from '../store/editions.ts';
import type { Store } from '../store/handle.ts';
import { latestEdition, nextInstants, type EditionSlot } from '../editions/calendar.ts';
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
  | 'stopped';

export interface RunResult {
  outcome: RunOutcome;
  /** One line for the log, e.g. the counts or the content problems. */
  detail: string;
  problems?: string[];
}

/** Sends one edition by the same path as `almanac send <kind> --date <date>`. */
export type EditionRunner = (kind: Kind, date: string, signal: AbortSignal) => Promise<RunResult>;

export interface SchedulerOptions {
  config: Config;
  /** The database (SQLite or PostgreSQL), shared with the sends. */
  store: Store;
  run: EditionRunner;
  log: Logger;
  /** The scheduler's idea of now; tests inject one. @default () => new Date() */
  clock?: () => Date;
  /** How often the watchdog looks for missed or unfinished editions. @default 30_000 */
  tickMs?: number;
  /** A tick later than this means the machine slept or the process was paused. @default 90_000 */
  wakeThresholdMs?: number;
  /** Wait between attempts at an unfinished edition within its grace period. @default 300_000 */
  retryMs?: number;
}

/** What /healthz shows about the scheduler. */
export interface SchedulerHealth {
  running: boolean;
  timezone: string;
  next: Record<Kind, string>;
  last: Partial<Record<Kind, { edition: string; outcome: RunOutcome; at: string; detail: string }>>;
  /** Set while the last attempt at some edition failed (invalid content, transport). */
  error: string | null;
}

/**
 * Sends Midweek and Sunday at their instants with node-cron, catches up missed editions within the
 * grace period (at start, after a wake, on a retry timer), and never runs one kind twice at once.
 * Across processes and hosts, the send path keeps each recipient to one copy: on SQLite the edition's
 * send lock lets one run at a time (a second scheduler's attempt is 'locked' and retried), on
 * PostgreSQL every scheduler that fires joins the same edition's claims (src/store/claims.ts).
 */
export class Scheduler {
  private readonly clock: () => Date;
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Map<Kind, Promise<void>>();
  private readonly lastAttempt = new Map<string, number>();
  private readonly reportedStale = new Set<string>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private health: SchedulerHealth;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.health = { running: false, timezone: options.config.timezone, next: this.nextInstants(), last: {}, error: null };
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
      return now - (this.lastAttempt.get(last.edition) ?? 0) >= retryMs;
    });
    await Promise.all(due.map((kind) => this.reconcile(kind, 'retry')));
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
    const { config, log } = this.options;
    if (this.abort.signal.aborted) return;
    const now = this.clock();
    const slot = latestEdition(kind, now, config);
    this.health.next = this.nextInstants();
    if (await this.isFinished(slot)) return;
    const lateMs = now.getTime() - slot.sendAt.getTime();
    if (lateMs > config.catchUpGraceMs) {
      if (!this.reportedStale.has(slot.id)) {
        this.reportedStale.add(slot.id);
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
    this.lastAttempt.set(slot.id, now.getTime());
    log('schedule.run', { editionId: slot.id, reason, lateSeconds: Math.round(lateMs / 1000) });
    let result: RunResult;
    try {
      result = await this.options.run(kind, slot.date, this.abort.signal);
    } catch (error) {
      result = { outcome: 'failed', detail: errorText(error) };
    }
    this.record(kind, slot, result);
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
