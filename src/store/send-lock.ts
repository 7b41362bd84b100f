import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { changed, lockRows, transaction } from './dialect.ts';
import type { Store } from './handle.ts';
import { Heartbeat } from './heartbeat.ts';

/** Another run holds the edition's lease. */
export class SendLockedError extends Error {
  override name = 'SendLockedError';
  constructor(
    readonly editionId: string,
    readonly owner: string,
    readonly heartbeatAt: string,
  ) {
    super(`another send of ${editionId} is running (owner ${owner}, last heartbeat ${heartbeatAt}); wait for it to finish`);
  }
}

/** A unique id for this process's run: `hostname:pid:random`. */
export function lockOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** How long a lease lasts without a heartbeat. */
export const LEASE_MS = 30_000;
/** How often the lease is renewed. */
export const HEARTBEAT_MS = 5_000;

/**
 * The edition's send lease in `send_locks` (SQLite: one run per edition; on PostgreSQL runs share
 * the edition by claims instead, see claims.ts):
 * at most one live run per edition; an expired lease, or one whose owner is a process on this host
 * that no longer exists, is taken over. The heartbeat renews only a lease this owner still holds;
 * if it was taken over, `onLost` fires. On PostgreSQL the row is inserted-if-absent first and then
 * locked, so two runs starting at the same instant cannot both win.
 */
export class SendLock {
  private readonly heartbeat = new Heartbeat();

  constructor(
    private readonly store: Store,
    readonly editionId: string,
    readonly owner: string = lockOwnerId(),
    private readonly clock: () => Date = () => new Date(),
    private readonly leaseMs = LEASE_MS,
  ) {}

  /** Takes the lease or throws SendLockedError; returns the previous owner when a stale lease was taken over. */
  async acquire(): Promise<{ tookOverFrom?: string }> {
    return transaction(this.store, async (tx) => {
      const now = this.clock();
      const mine = { owner: this.owner, acquired_at: now.toISOString(), heartbeat_at: now.toISOString(), expires_at: this.expiry(now) };
      const inserted = await tx
        .insertInto('send_locks')
        .values({ edition_id: this.editionId, ...mine })
        .onConflict((oc) => oc.column('edition_id').doNothing())
        .returning('owner')
        .executeTakeFirst();
      if (inserted) return {};
      const row = await lockRows(
        this.store,
        tx.selectFrom('send_locks').select(['owner', 'heartbeat_at', 'expires_at']).where('edition_id', '=', this.editionId),
      ).executeTakeFirstOrThrow();
      if (row.owner !== this.owner && new Date(row.expires_at) > now && ownerMayBeAlive(row.owner)) {
        throw new SendLockedError(this.editionId, row.owner, row.heartbeat_at);
      }
      await tx.updateTable('send_locks').set(mine).where('edition_id', '=', this.editionId).execute();
      return row.owner !== this.owner ? { tookOverFrom: row.owner } : {};
    });
  }

  /** Renews the lease every `intervalMs`; calls `onLost` (once) if another run took it over. */
  startHeartbeat(onLost: () => void, intervalMs = HEARTBEAT_MS): void {
    this.heartbeat.start(async () => {
      if (!(await this.renew()) && this.heartbeat.running) {
        this.heartbeat.stop();
        onLost();
      }
    }, intervalMs);
  }

  /** Extends the lease; false when this owner no longer holds it. */
  async renew(): Promise<boolean> {
    const now = this.clock();
    const result = await this.store.db
      .updateTable('send_locks')
      .set({ heartbeat_at: now.toISOString(), expires_at: this.expiry(now) })
      .where('edition_id', '=', this.editionId)
      .where('owner', '=', this.owner)
      .executeTakeFirst();
    return changed(result) === 1;
  }

  stopHeartbeat(): void {
    this.heartbeat.stop();
  }

  /** Gives the lease up (only if still ours). */
  async release(): Promise<void> {
    this.stopHeartbeat();
    await this.store.db.deleteFrom('send_locks').where('edition_id', '=', this.editionId).where('owner', '=', this.owner).execute();
  }

  private expiry(now: Date): string {
    return new Date(now.getTime() + this.leaseMs).toISOString();
  }
}

/** False only when the owner is a process on this host that certainly no longer exists. */
function ownerMayBeAlive(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
