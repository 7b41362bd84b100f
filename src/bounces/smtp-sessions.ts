import type { SMTPServer, SMTPServerSession } from 'smtp-server';

/** At most `limit` tasks run at once; the others wait in arrival order. */
export class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Runs `task` when a place is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The place passes straight to the next waiter (running stays the same), or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** The part of smtp-server's connection object used to end a session. */
interface Connection {
  session?: { id?: string };
  send(code: number, message: string): void;
  close(): void;
}

/**
 * Who may hold a session of the bounce listener: at most `perClient` sessions per client address at
 * once (one sender holding many idle sessions must not shut out the others: the next one gets 421),
 * each ended with 421 after `maxMs` however busy it is.
 */
export class SessionGuard {
  private readonly perAddress = new Map<string, number>();
  private readonly admitted = new Map<string, { address: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly server: SMTPServer,
    private readonly perClient: number,
    private readonly maxMs: number,
  ) {}

  /** smtp-server's onConnect: undefined to admit the session, else the 421 error to refuse it with. */
  admit(session: SMTPServerSession): Error | undefined {
    const address = session.remoteAddress;
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.perClient) {
      return Object.assign(new Error(`4.7.0 too many sessions from your address (at most ${this.perClient} at once), try again later`), { responseCode: 421 });
    }
    this.perAddress.set(address, open + 1);
    const timer = setTimeout(() => this.expire(session.id), this.maxMs);
    timer.unref();
    this.admitted.set(session.id, { address, timer });
    return undefined;
  }

  /** smtp-server's onClose: frees the session's place (a refused session never had one). */
  release(session: SMTPServerSession): void {
    const entry = this.admitted.get(session.id);
    if (!entry) return;
    this.admitted.delete(session.id);
    clearTimeout(entry.timer);
    const left = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(entry.address, left);
    else this.perAddress.delete(entry.address);
  }

  /** Stops every session timer (the server is closing). */
  stop(): void {
    for (const entry of this.admitted.values()) clearTimeout(entry.timer);
  }

  private expire(id: string): void {
    for (const connection of this.server.connections as Set<Connection>) {
      if (connection.session?.id !== id) continue;
      connection.send(421, `4.4.2 session too long (at most ${Math.round(this.maxMs / 1000)} s), closing`);
      connection.close();
    }
  }
}
