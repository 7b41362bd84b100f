import { createHmac, randomBytes } from 'node:crypto';
import type { Store } from '../store/handle.ts';
import { insertEngagementEvents, type EngagementEvent } from '../store/engagement.ts';
import { BURST_LINKS, BURST_WINDOW_MS } from './classify.ts';

/** Options of the recorder. */
export interface RecorderOptions {
  /** How long an event waits in memory before it is written, so a burst can still reclassify it. @default BURST_WINDOW_MS */
  holdMs?: number;
  /** How often pending events are written. @default 500 ms */
  flushEveryMs?: number;
  /** @default () => new Date() */
  clock?: () => Date;
  /** A failed write (the events are kept and retried at the next flush). */
  onError?: (error: unknown) => void;
}

interface Pending {
  event: EngagementEvent;
  /** The client it came from (an in-memory hash, never written), for burst detection. */
  client: string;
  t: number;
}

/** Pending events above this many are written at once, whatever their age (bounded memory under load). */
const MAX_PENDING = 5_000;

/**
 * Batches click/open events: each is held briefly in memory, then written with others in one
 * transaction (never one per click). While held, a burst from one client (many different links
 * within seconds, or the honeypot) reclassifies that client's events as machine.
 *
 * The client key is an HMAC of the address and user agent under a random per-process key: it
 * exists only in memory for a few seconds and is never stored or logged, so without personal
 * tracking nothing written ties an event to a person.
 */
export class EngagementRecorder {
  private pending: Pending[] = [];
  /** Each client's events of the last BURST_WINDOW_MS (pruned as it goes), so a request never scans everything held. */
  private readonly recent = new Map<string, Pending[]>();
  private readonly processKey = randomBytes(32);
  private readonly holdMs: number;
  private readonly clock: () => Date;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: RecorderOptions = {},
  ) {
    this.holdMs = options.holdMs ?? BURST_WINDOW_MS;
    this.clock = options.clock ?? (() => new Date());
    this.timer = setInterval(() => void this.flush(false), options.flushEveryMs ?? 500);
    this.timer.unref();
  }

  /** An opaque in-memory key for a client (address + user agent, or the subscriber when personal). */
  clientKey(parts: readonly (string | number | undefined)[]): string {
    return createHmac('sha256', this.processKey).update(parts.map((p) => String(p ?? '')).join('\n')).digest('base64url').slice(0, 22);
  }

  /** Queues an event; applies the burst and honeypot rules to the client's recent events. */
  record(event: EngagementEvent, client: string): void {
    const t = this.clock().getTime();
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
    if (this.pending.length > MAX_PENDING) void this.flush(true);
  }

  /** Writes held events (all of them with `all`, else those older than the hold time). */
  async flush(all = true): Promise<void> {
    while (this.flushing) await this.flushing;
    const cutoff = all ? Infinity : this.clock().getTime() - this.holdMs;
    const stale = this.clock().getTime() - BURST_WINDOW_MS;
    for (const [client, list] of this.recent) if (list.at(-1)!.t < stale) this.recent.delete(client);
    const ready = this.pending.filter((p) => p.t <= cutoff);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((p) => p.t > cutoff);
    this.flushing = insertEngagementEvents(
      this.store,
      ready.map((p) => p.event),
    )
      .catch((error: unknown) => {
        this.pending.unshift(...ready); // kept: the next flush tries again
        this.options.onError?.(error);
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Stops the timer and writes everything held. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(true);
  }
}
