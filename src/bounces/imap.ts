import { ImapFlow } from 'imapflow';
import { ConfigError, type Config } from '../config.ts';
import { isLoopback } from '../delivery/loopback.ts';
import { errorText, type Logger } from '../log.ts';
import type { Store } from '../store/handle.ts';
import { MAX_BOUNCE_BYTES } from './limits.ts';
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
  /** Of those handled, the bounces and complaints that did not prove they answer our mail. */
  unverified: number;
  /** Not mail: left \Seen and \Flagged for a person. */
  notMessages: number;
  /** Over MAX_BOUNCE_BYTES, never downloaded: left \Seen and \Flagged for a person. */
  tooLarge: number;
}

/** How the connection to the mailbox is protected (the SMTP relay's rule, src/delivery/smtp-transport.ts). */
export interface ImapSecurity {
  /** imapflow's doSTARTTLS: true = required (no login without it), undefined = when offered. */
  doSTARTTLS: true | undefined;
  /** Whether the server's certificate must be valid for its name. */
  rejectUnauthorized: boolean;
}

/**
 * A mailbox that is not on this machine's loopback gets the password only over TLS (imaps://, or
 * imap:// with STARTTLS, required) and only after its certificate was checked. On a real loopback
 * address (see isLoopback) nothing crosses a network: plain IMAP and self-signed certificates are fine.
 */
export function imapSecurity(target: Pick<ImapTarget, 'host' | 'secure'>): ImapSecurity {
  const local = isLoopback(target.host);
  return { doSTARTTLS: local || target.secure ? undefined : true, rejectUnauthorized: !local };
}

/** The error of a failed login, saying plainly when the cause is the missing STARTTLS. */
function loginError(target: ImapTarget, cause: unknown): Error {
  const where = `the bounce mailbox at ${target.host}:${target.port}`;
  // imapflow marks both a missing STARTTLS and a failed handshake tlsFailed; only the first names STARTTLS.
  const e = cause as { tlsFailed?: boolean; message?: string } | undefined;
  if (e?.tlsFailed && /STARTTLS/.test(e.message ?? '')) {
    return new Error(
      `${where} did not start TLS, and it is not on this machine's loopback: refusing to send the password in clear (use imaps://, or a server that offers STARTTLS); not logged in`,
      { cause },
    );
  }
  return new Error(`cannot log in to ${where} as ${target.user}`, { cause });
}

/**
 * Reads the unseen messages of the bounce mailbox, applies them as `bounces ingest` does, and marks
 * each handled one \Seen (one that is not mail also gets \Flagged, for a person to look at). A
 * message is marked only after its batch is committed, so a crash leaves it unseen for the next check.
 */
export async function fetchBounces(config: Config, store: Store, onResult: (r: ProcessResult) => void): Promise<FetchSummary> {
  if (!config.bounce.imapUrl) throw new ConfigError('ALMANAC_BOUNCE_IMAP_URL: expected imaps://user:pass@host/INBOX, found nothing');
  const target = imapTarget(config.bounce.imapUrl);
  const security = imapSecurity(target);
  const client = new ImapFlow({
    host: target.host,
    port: target.port,
    secure: target.secure,
    doSTARTTLS: security.doSTARTTLS,
    auth: { user: target.user, pass: target.pass },
    logger: false,
    tls: { rejectUnauthorized: security.rejectUnauthorized },
    connectionTimeout: 30_000,
    socketTimeout: 120_000,
  });
  client.on('error', () => {}); // socket errors surface as rejected commands below
  const processor = await BounceProcessor.open(store, config);
  const summary: FetchSummary = { handled: 0, unverified: 0, notMessages: 0, tooLarge: 0 };
  try {
    await client.connect();
  } catch (cause) {
    throw loginError(target, cause);
  }
  try {
    const lock = await client.getMailboxLock(target.mailbox);
    try {
      const unseen = (await client.search({ seen: false }, { uid: true })) || [];
      for (let i = 0; i < unseen.length; i += FETCH_BATCH) {
        const inputs = await download(client, unseen.slice(i, i + FETCH_BATCH));
        const done: number[] = [];
        const bad: number[] = [];
        await processor.processAll(inputs, (r) => {
          const uid = Number(r.name.slice('imap uid '.length));
          (r.outcome === 'not-a-message' || r.outcome === 'too-large' ? bad : done).push(uid);
          if (r.outcome === 'unverified') summary.unverified++;
          if (r.outcome === 'not-a-message') summary.notMessages++;
          if (r.outcome === 'too-large') summary.tooLarge++;
          onResult(r);
        });
        if (done.length) await client.messageFlagsAdd(done.join(','), ['\\Seen'], { uid: true });
        if (bad.length) await client.messageFlagsAdd(bad.join(','), ['\\Seen', '\\Flagged'], { uid: true });
        summary.handled += done.length;
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return summary;
}

/**
 * The messages of `uids`, in mailbox order: each one's size is asked first (RFC822.SIZE), and one
 * over MAX_BOUNCE_BYTES is never downloaded (it comes back as `tooLarge`).
 */
async function download(client: ImapFlow, uids: number[]): Promise<RawInput[]> {
  const sizes = new Map<number, number>();
  for await (const m of client.fetch(uids.join(','), { uid: true, size: true }, { uid: true })) sizes.set(m.uid, m.size ?? 0);
  const small = uids.filter((uid) => (sizes.get(uid) ?? 0) <= MAX_BOUNCE_BYTES);
  const sources = new Map<number, Buffer>();
  if (small.length > 0) {
    for await (const m of client.fetch(small.join(','), { uid: true, source: true }, { uid: true })) if (m.source) sources.set(m.uid, m.source);
  }
  const inputs: RawInput[] = [];
  for (const uid of uids) {
    const size = sizes.get(uid);
    if (size === undefined) continue; // expunged meanwhile
    if (size > MAX_BOUNCE_BYTES) inputs.push({ name: `imap uid ${uid}`, raw: '', tooLarge: size });
    else if (sources.has(uid)) inputs.push({ name: `imap uid ${uid}`, raw: sources.get(uid)! });
  }
  return inputs;
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
        if (s.handled + s.notMessages + s.tooLarge > 0) options.log('bounces.imap.checked', { ...s });
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
