import { ImapFlow } from 'imapflow';
import { ConfigError, type Config } from '../config.ts';
import { errorText, type Logger } from '../log.ts';
import type { Store } from '../store/handle.ts';
import { BounceProcessor, type ProcessResult, type RawInput } from './process.ts';

/** Messages fetched per round trip (each round is then applied in one transaction). @default 200 */
const FETCH_BATCH = 200;

/** Where and how to read the bounce mailbox, from ALMANAC_BOUNCE_IMAP_URL. */
export interface ImapTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  mailbox: string;
}

/** imaps://user:pass@host[:port]/MAILBOX → its parts (user and password URL-decoded; mailbox default INBOX). */
export function imapTarget(url: string): ImapTarget {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  if (!u.username) throw new ConfigError('ALMANAC_BOUNCE_IMAP_URL: expected a user and password (imaps://user:pass@host/INBOX), found none');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    mailbox: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'INBOX',
  };
}

/** What one check of the mailbox did. */
export interface FetchSummary {
  handled: number;
  notMessages: number;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * Reads the unseen messages of the bounce mailbox, applies them as `bounces ingest` does, and marks
 * each handled one \Seen (one that is not mail also gets \Flagged, for a person to look at). A
 * message is marked only after its batch is committed, so a crash leaves it unseen for the next check.
 */
export async function fetchBounces(config: Config, store: Store, onResult: (r: ProcessResult) => void): Promise<FetchSummary> {
  if (!config.bounce.imapUrl) throw new ConfigError('ALMANAC_BOUNCE_IMAP_URL: expected imaps://user:pass@host/INBOX, found nothing');
  const target = imapTarget(config.bounce.imapUrl);
  const client = new ImapFlow({
    host: target.host,
    port: target.port,
    secure: target.secure,
    auth: { user: target.user, pass: target.pass },
    logger: false,
    // As for the SMTP relay: a mailbox on this machine's loopback is not certificate-checked.
    tls: { rejectUnauthorized: !LOOPBACK.test(target.host) },
    connectionTimeout: 30_000,
    socketTimeout: 120_000,
  });
  client.on('error', () => {}); // socket errors surface as rejected commands below
  const processor = await BounceProcessor.open(store, config);
  const summary: FetchSummary = { handled: 0, notMessages: 0 };
  try {
    await client.connect();
  } catch (cause) {
    throw new Error(`cannot log in to the bounce mailbox at ${target.host}:${target.port} as ${target.user}`, { cause });
  }
  try {
    const lock = await client.getMailboxLock(target.mailbox);
    try {
      const unseen = (await client.search({ seen: false }, { uid: true })) || [];
      for (let i = 0; i < unseen.length; i += FETCH_BATCH) {
        const uids = unseen.slice(i, i + FETCH_BATCH);
        const inputs: RawInput[] = [];
        for await (const m of client.fetch(uids.join(','), { uid: true, source: true }, { uid: true })) {
          if (m.source) inputs.push({ name: `imap uid ${m.uid}`, raw: m.source });
        }
        const done: number[] = [];
        const bad: number[] = [];
        await processor.processAll(inputs, (r) => {
          const uid = Number(r.name.slice('imap uid '.length));
          (r.outcome === 'not-a-message' ? bad : done).push(uid);
          onResult(r);
        });
        if (done.length) await client.messageFlagsAdd(done.join(','), ['\\Seen'], { uid: true });
        if (bad.length) await client.messageFlagsAdd(bad.join(','), ['\\Seen', '\\Flagged'], { uid: true });
        summary.handled += done.length;
        summary.notMessages += bad.length;
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return summary;
}

/** A running poller. */
export interface ImapPoller {
  stop(): Promise<void>;
}

/** Checks the mailbox at once and then every `config.bounce.imapPollMs`, one check at a time; failures are logged and retried next time. */
export function startImapPoller(config: Config, store: Store, options: { onResult: (r: ProcessResult) => void; log: Logger }): ImapPoller {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const check = () => {
    running = fetchBounces(config, store, options.onResult)
      .then((s) => {
        if (s.handled + s.notMessages > 0) options.log('bounces.imap.checked', { handled: s.handled, notMessages: s.notMessages });
      })
      .catch((error: unknown) => options.log('bounces.imap.failed', { level: 'error', error: errorText(error) }))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(check, config.bounce.imapPollMs);
      });
  };
  check();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
