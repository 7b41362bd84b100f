import { hostname } from 'node:os';
import type { Db } from '../db.ts';

// The error, owner id and timings live in src/store/send-lock.ts (this synchronous module is no longer used by the send path).
import { HEARTBEAT_MS, LEASE_MS, SendLockedError } from '../store/send-lock.ts';

export { HEARTBEAT_MS, LEASE_MS, SendLockedError, lockOwnerId } from '../store/send-lock.ts';

interface LockRow {
  owner: string;
  heartbeat_at: string;
  expires_at: string;
}

/**
 * The edition's send lease in `send_locks`. Invariant: at most one live run per edition. A lease is
 * taken over when it expired (its owner stopped heartbeating: kill -9, power loss) or when its
 * owner is a process on this host that no longer exists (so a crashed run is resumed at once).
 * The heartbeat only renews a lease this owner still holds; if it was taken over, `onLost` fires.
 */
export class SendLock {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    readonly editionId: string,
    readonly owner: string,
    private readonly clock: () => Date = () => new Date(),
    private readonly leaseMs = LEASE_MS,
  ) {}

  /** Takes the lease or throws SendLockedError; returns the previous owner when a stale lease was taken over. */
  acquire(): { tookOverFrom?: string } {
    return this.db
      .transaction(() => {
        const now = this.clock();
        const row = this.db.prepare('SELECT owner, heartbeat_at, expires_at FROM send_locks WHERE edition_id = ?').get(this.editionId) as
          | LockRow
          | undefined;
        if (row && row.owner !== this.owner && new Date(row.expires_at) > now && ownerMayBeAlive(row.owner)) {
          throw new SendLockedError(this.editionId, row.owner, row.heartbeat_at);
        }
        this.db
          .prepare(
            `INSERT INTO send_locks (edition_id, owner, acquired_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (edition_id) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at,
               heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`,
          )
          .run(this.editionId, this.owner, now.toISOString(), now.toISOString(), this.expiry(now));
        return row && row.owner !== this.owner ? { tookOverFrom: row.owner } : {};
      })
      .immediate();
  }

  /** Renews the lease every `intervalMs`; calls `onLost` (once) if another run took it over. */
  startHeartbeat(onLost: () => void, intervalMs = HEARTBEAT_MS): void {
    this.stopHeartbeat();
    this.timer = setInterval(() => {
      if (!this.renew()) {
        this.stopHeartbeat();
        onLost();
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** Extends the lease; false when this owner no longer holds it. */
  renew(): boolean {
    const now = this.clock();
    const result = this.db
      .prepare('UPDATE send_locks SET heartbeat_at = ?, expires_at = ? WHERE edition_id = ? AND owner = ?')
      .run(now.toISOString(), this.expiry(now), this.editionId, this.owner);
    return result.changes === 1;
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up (only if still ours). */
  release(): void {
    this.stopHeartbeat();
    this.db.prepare('DELETE FROM send_locks WHERE edition_id = ? AND owner = ?').run(this.editionId, this.owner);
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
  if (pid === process.pid) return true; // another run in this very process
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
