import { createHmac, randomBytes } from 'node:crypto';
import type { Store } from '../store/handle.ts';
import { insertEngagementEvents, type EngagementEvent } from '../store/engagement.ts';
import { BURST_LINKS, BURST_WINDOW_MS } from './classify.ts';

/** The same link (or the pixel) from the same client within this long counts once. @default 10 min */
export const REPEAT_WINDOW_MS = 10 * 60_000;
/**
 * At most this many events of one client (an address, IPv6 by its /64, or a reader with personal
 * tracking) are counted in any CLIENT_WINDOW_MS; more are not recorded (the web server applies it).
 */
export const CLIENT_EVENTS = 10;
export const CLIENT_WINDOW_MS = 10 * 60_000;
/** Events held in memory at most (while the database does not answer): past it the oldest are dropped. @default 20,000 */
export const MAX_HELD = 20_000;

/** Options of the recorder. */
export interface RecorderOptions {
  /** How long an event waits in memory before it is written, so a burst can still reclassify it. @default BURST_WINDOW_MS */
  holdMs?: number;
  /** How often pending events are written. @default 500 ms */
  flushEveryMs?: number;
  /** Events held at most. @default MAX_HELD */
  maxHeld?: number;
  /** @default () => new Date() */
  clock?: () => Date;
  /** A failed write (the events are kept, up to maxHeld, and retried at the next flush). */
  onError?: (error: unknown) => void;
  /** Operator lines: writes failing, events dropped or over the per-client bound (never an address). */
  log?: (line: string) => void;
}

/** What became of one event handed to record(). */
export type RecordOutcome = 'held' | 'repeat' | 'over-limit' | 'full';

interface Pending {
  event: EngagementEvent;
  /** The client it came from (an in-memory hash, never written), for burst detection. */
  client: string;
  t: number;
}

/** Pending events above this many are written at once, whatever their age (bounded memory under load). */
const MAX_PENDING = 5_000;
/** Repeat keys remembered at most (the oldest are forgotten first). */
const MAX_SEEN = 100_000;
/** Lines about events not counted are written at most this often. */
const REPORT_EVERY_MS = 60_000;

/**
 * Batches click/open events: each is held briefly in memory, then written with others in one
 * transaction (never one per click). While held, a burst from one client (many different links
 * within seconds, or the honeypot) reclassifies that client's events as machine. A client's repeat of
 * the same link within REPEAT_WINDOW_MS is not recorded again.
 *
 * The client key is an HMAC of the address and user agent under a random per-process key: it
 * exists only in memory for a few minutes and is never stored or logged, so without personal
 * tracking nothing written ties an event to a person.
 */
export class EngagementRecorder {
  private pending: Pending[] = [];
  /** Each client's events of the last BURST_WINDOW_MS (pruned as it goes), so a request never scans everything held. */
  private readonly recent = new Map<string, Pending[]>();
  /** client + edition + type + link → when it was last recorded; in time order (re-inserted when refreshed). */
  private readonly seen = new Map<string, number>();
  private readonly processKey = randomBytes(32);
  private readonly holdMs: number;
  private readonly maxHeld: number;
  private readonly clock: () => Date;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  /** Not counted since the last report line. */
  private readonly dropped = { 'over-limit': 0, full: 0 };
  private lastReport = -Infinity;
  private failing = false;

  constructor(
    private readonly store: Store,
    private readonly options: RecorderOptions = {},
  ) {
    this.holdMs = options.holdMs ?? BURST_WINDOW_MS;
    this.maxHeld = options.maxHeld ?? MAX_HELD;
    this.clock = options.clock ?? (() => new Date());
    // Whatever goes wrong in a flush is reported, never thrown out of the timer (which would end the process).
    this.timer = setInterval(() => this.flushSafely(false), options.flushEveryMs ?? 500);
    this.timer.unref();
  }

  /** An opaque in-memory key for a client (address + user agent, or the subscriber when personal). */
  clientKey(parts: readonly (string | number | undefined)[]): string {
    return createHmac('sha256', this.processKey).update(parts.map((p) => String(p ?? '')).join('\n')).digest('base64url').slice(0, 22);
  }

  /** Events in memory, not yet written. */
  get held(): number {
    return this.pending.length;
  }

  /**
   * Queues an event unless it repeats one of the client's within REPEAT_WINDOW_MS, `admit` refuses it
   * (the per-client bound) or maxHeld are already held; applies the burst and honeypot rules.
   */
  record(event: EngagementEvent, client: string, admit: () => boolean = () => true): RecordOutcome {
    const t = this.clock().getTime();
    const repeatKey = `${client}\n${event.edition_id}\n${event.type}\n${event.link}`;
    this.forgetSeen(t);
    const last = this.seen.get(repeatKey);
    if (last !== undefined && t - last < REPEAT_WINDOW_MS) return 'repeat';
    if (!admit()) return this.drop('over-limit');
    if (this.pending.length >= this.maxHeld) return this.drop('full');
    this.seen.delete(repeatKey);
    this.seen.set(repeatKey, t);
    this.hold(event, client, t);
    if (this.pending.length > MAX_PENDING) this.flushSafely(true);
    return 'held';
  }

  private hold(event: EngagementEvent, client: string, t: number): void {
    const list = (this.recent.get(client) ?? []).filter((p) => t - p.t <= BURST_WINDOW_MS);
    const mine = list.filter((p) => p.event.edition_id === event.edition_id);
    const entry: Pending = { event, client, t };
    this.pending.push(entry);
    list.push(entry);
    this.recent.set(client, list);
    if (event.type !== 'click') return;
    const honeypot = event.reason === 'honeypot' || mine.some((p) => p.event.reason === 'honeypot');
    const distinct = new Set([...mine, entry].filter((p) => p.event.type === 'click').map((p) => p.event.link)).size;
    if (!honeypot && distinct < BURST_LINKS) return;
    // The honeypot or a burst: every click of this client in the window is a machine's.
    for (const p of [...mine, entry]) {
      if (p.event.type !== 'click' || p.event.class === 'machine') continue;
      p.event.class = 'machine';
      p.event.reason = honeypot ? 'honeypot' : 'burst';
    }
  }

  /** Drops repeat keys older than the window (they are in time order) and the oldest past MAX_SEEN. */
  private forgetSeen(now: number): void {
    for (const [key, at] of this.seen) {
      if (now - at < REPEAT_WINDOW_MS && this.seen.size <= MAX_SEEN) break;
      this.seen.delete(key);
    }
  }

  private drop(why: 'over-limit' | 'full'): RecordOutcome {
    this.dropped[why]++;
    return why;
  }

  /** Writes held events (all of them with `all`, else those older than the hold time). Rejects only if the store does. */
  async flush(all = true): Promise<void> {
    while (this.flushing) await this.flushing;
    const now = this.clock().getTime();
    const cutoff = all ? Infinity : now - this.holdMs;
    const stale = now - BURST_WINDOW_MS;
    for (const [client, list] of this.recent) if (list.at(-1)!.t < stale) this.recent.delete(client);
    this.reportDropped(now);
    const ready = this.pending.filter((p) => p.t <= cutoff);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((p) => p.t > cutoff);
    this.flushing = insertEngagementEvents(
      this.store,
      ready.map((p) => p.event),
    )
      .then(() => {
        if (this.failing) this.say(`tracking: events are written again (${ready.length} held ones written)`);
        this.failing = false;
      })
      .catch((error: unknown) => this.keep(ready, error))
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** A failed write: the events go back in front, and the oldest past maxHeld are dropped (counted). */
  private keep(ready: Pending[], error: unknown): void {
    this.pending = [...ready, ...this.pending];
    const excess = this.pending.length - this.maxHeld;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.dropped.full += excess;
    }
    if (!this.failing) this.say(`tracking: cannot write click/open events; holding up to ${this.maxHeld} and trying again: ${(error as Error)?.message ?? String(error)}`);
    this.failing = true;
    try {
      this.options.onError?.(error);
    } catch {
      // a reporter that throws must not turn a failed write into a crash
    }
  }

  /** One line, at most once a minute, for the events not counted since the last one. */
  private reportDropped(now: number): void {
    const { 'over-limit': overLimit, full } = this.dropped;
    if (overLimit + full === 0 || now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    this.dropped['over-limit'] = 0;
    this.dropped.full = 0;
    const parts = [overLimit ? `${overLimit} over the per-client limit` : '', full ? `${full} dropped while the database did not answer (more than ${this.maxHeld} held)` : ''];
    this.say(`tracking: events not counted: ${parts.filter(Boolean).join('; ')}`);
  }

  private say(line: string): void {
    try {
      this.options.log?.(line);
    } catch {
      // logging must never take the recorder down
    }
  }

  private flushSafely(all: boolean): void {
    this.flush(all).catch((error: unknown) => this.say(`tracking: flush failed: ${(error as Error)?.message ?? String(error)}`));
  }

  /** Stops the timer and writes everything held. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(true);
  }
}
