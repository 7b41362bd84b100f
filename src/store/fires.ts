import { hostname } from 'node:os';
import { changed, lockRows, transaction } from './dialect.ts';
import type { Store } from './handle.ts';
import { lockOwnerId } from './send-lock.ts';

/** A scheduler running an edition renews its fire this often… @default 10 s */
export const FIRE_HEARTBEAT_MS = 10_000;
/** …and another scheduler takes the edition over this long after the last renewal. @default 30 s */
export const FIRE_LEASE_MS = 30_000;

/** What asking to fire an edition came to. */
export type FireResult =
  | { taken: true; attempt: number; tookOverFrom?: string }
  | { taken: false; owner: string; running: boolean; until: string };

/**
 * Several schedulers on one database fire each edition once: the first to ask takes the edition's
 * fire row and runs it; the others see who holds it and wait. Invariants:
 * - While its owner runs the edition, the row is `running` and its lease is renewed by heartbeat.
 *   A scheduler that dies (SIGKILL, host lost) stops renewing: after the lease another scheduler
 *   takes it over, and its send joins the edition's claims (src/store/claims.ts), so nobody gets
 *   a second copy. A holder on this host whose process is gone is taken over at once (a restart).
 * - When an attempt ends, its owner sets the earliest time any scheduler may try again: at once
 *   when it was stopped, the retry interval after an unfinished attempt, the end of the grace
 *   period after a finished or empty one. So an unfinished edition is retried once per interval
 *   across all schedulers, not once per scheduler.
 * Times are the program's clock, as everywhere in the store: hosts need synchronised clocks (NTP),
 * which the cron instants need anyway.
 */
export class EditionFires {
  constructor(
    private readonly store: Store,
    readonly owner: string = lockOwnerId(),
    private readonly clock: () => Date = () => new Date(),
    private readonly leaseMs: number = FIRE_LEASE_MS,
  ) {}

  /** Takes the edition's fire unless a live scheduler holds it or its next attempt is not due yet. */
  async take(editionId: string): Promise<FireResult> {
    return transaction(this.store, async (tx) => {
      const now = this.clock();
      const expiresAt = new Date(now.getTime() + this.leaseMs).toISOString();
      const fresh = { owner: this.owner, running: 1, fired_at: now.toISOString(), expires_at: expiresAt };
      const created = await tx
        .insertInto('schedule_fires')
        .values({ edition_id: editionId, ...fresh, attempts: 1 })
        .onConflict((oc) => oc.column('edition_id').doNothing())
        .returning('attempts')
        .executeTakeFirst();
      if (created) return { taken: true, attempt: 1 };
      const row = await lockRows(this.store, tx.selectFrom('schedule_fires').selectAll().where('edition_id', '=', editionId)).executeTakeFirstOrThrow();
      // Due (the lease ran out, or the next attempt's time came), or a holder that cannot be running:
      // this scheduler itself (its last attempt never recorded its end) or a process gone from this host.
      const free = row.expires_at <= now.toISOString() || (row.running === 1 && (row.owner === this.owner || holderIsGone(row.owner)));
      if (!free) return { taken: false, owner: row.owner, running: row.running === 1, until: row.expires_at };
      await tx.updateTable('schedule_fires').set({ ...fresh, attempts: row.attempts + 1 }).where('edition_id', '=', editionId).execute();
      const tookOverFrom = row.running === 1 && row.owner !== this.owner ? row.owner : undefined;
      return { taken: true, attempt: row.attempts + 1, ...(tookOverFrom ? { tookOverFrom } : {}) };
    });
  }

  /** Renews the lease of an edition this scheduler runs; false when another scheduler took it over. */
  async renew(editionId: string): Promise<boolean> {
    const expiresAt = new Date(this.clock().getTime() + this.leaseMs).toISOString();
    const result = await this.store.db
      .updateTable('schedule_fires')
      .set({ expires_at: expiresAt })
      .where('edition_id', '=', editionId)
      .where('owner', '=', this.owner)
      .where('running', '=', 1)
      .executeTakeFirst();
    return changed(result) > 0;
  }

  /** Ends this scheduler's attempt: nobody attempts the edition again before `nextAttemptAt`. */
  async finish(editionId: string, nextAttemptAt: Date): Promise<void> {
    await this.store.db
      .updateTable('schedule_fires')
      .set({ running: 0, expires_at: nextAttemptAt.toISOString() })
      .where('edition_id', '=', editionId)
      .where('owner', '=', this.owner)
      .execute();
  }
}

/**
 * True when the owner id names a process on this host that no longer exists (`hostname:pid:random`,
 * see lockOwnerId). A pid reused by another process looks alive: then the lease decides, as for a
 * holder on another host.
 */
function holderIsGone(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
