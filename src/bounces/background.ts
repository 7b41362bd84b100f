import type { Config } from '../config.ts';
import { errorText, type Logger } from '../log.ts';
import type { Store } from '../store/handle.ts';
import type { ProcessResult } from './process.ts';

/** The bounce ways in that run alongside the web server and the scheduler (`npm start`). */
export interface BounceServices {
  close(): Promise<void>;
}

/**
 * Starts what the configuration asks for: the bounce SMTP listener (ALMANAC_BOUNCE_SMTP_PORT) and the
 * IMAP poller (ALMANAC_BOUNCE_IMAP_URL, every ALMANAC_BOUNCE_IMAP_POLL_MINUTES). Nothing when neither is set.
 * They use the process's one Store, the scheduler's and the web server's (two SQLite handles in one
 * process would block each other); the caller closes it after close().
 */
export async function startBounceServices(config: Config, store: Store, log: Logger): Promise<BounceServices> {
  const { smtpPort, imapUrl } = config.bounce;
  if (smtpPort === undefined && !imapUrl) return { close: async () => {} };
  const closers: (() => Promise<void>)[] = [];
  // Unverified messages are counted per way in: a stream of them is someone trying to suppress people.
  const unverified: Record<string, number> = {};
  const applied = (source: string) => (r: ProcessResult) => {
    if (r.outcome === 'unverified') unverified[source] = (unverified[source] ?? 0) + 1;
    const count = r.outcome === 'unverified' ? { unverifiedSoFar: unverified[source] } : {};
    log('bounces.applied', { level: r.outcome === 'changed' || r.outcome === 'unchanged' || r.outcome === 'ignored' ? 'info' : 'warn', source, outcome: r.outcome, name: r.name, line: r.line, ...count });
  };
  try {
    if (smtpPort !== undefined) {
      const { startBounceListener } = await import('./smtp-listener.ts');
      const listener = await startBounceListener(config, store, {
        port: smtpPort,
        host: config.bounce.smtpHost,
        onResult: applied('smtp'),
        onError: (error, name) => log('bounces.smtp.failed', { level: 'error', name, error: errorText(error) }),
      });
      closers.push(() => listener.close());
      log('bounces.listening', { host: listener.host, port: listener.port, address: config.bounce.address });
    }
    if (imapUrl) {
      const { startImapPoller } = await import('./imap.ts');
      const poller = startImapPoller(config, store, { onResult: applied('imap'), log });
      closers.push(() => poller.stop());
      log('bounces.imap.polling', { everyMinutes: config.bounce.imapPollMs / 60_000 });
    }
  } catch (error) {
    for (const close of closers.reverse()) await close();
    throw error;
  }
  return {
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}
