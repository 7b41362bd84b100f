import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { ConfigError, type Config } from '../config.ts';
import type { Store } from '../store/handle.ts';
import { IDLE_TIMEOUT_MS, MAX_BOUNCE_BYTES, MAX_CLIENTS, MAX_RECIPIENTS, MAX_SESSION_MS, MAX_SESSIONS_PER_CLIENT, PARSE_CONCURRENCY } from './limits.ts';
import { BounceProcessor, type ProcessResult } from './process.ts';
import { Gate, SessionGuard } from './smtp-sessions.ts';
import { isBounceAddress } from './verp.ts';

export { MAX_BOUNCE_BYTES } from './limits.ts';

/** Options of the bounce SMTP listener (the limits default to src/bounces/limits.ts). */
export interface BounceListenerOptions {
  port: number;
  /** @default '0.0.0.0' (it is the bounce domain's MX) */
  host?: string;
  /** @default MAX_BOUNCE_BYTES */
  maxBytes?: number;
  /** @default MAX_SESSIONS_PER_CLIENT */
  maxSessionsPerClient?: number;
  /** @default MAX_SESSION_MS */
  maxSessionMs?: number;
  /** @default IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number;
  /** One call per message handled. */
  onResult?: (result: ProcessResult) => void;
  /** A message that could not be applied (the store failed): the client was told 451 "database unavailable", the operator gets the cause here. */
  onError?: (error: unknown, name: string) => void;
}

/** A listening bounce MX. */
export interface BounceListener {
  port: number;
  host: string;
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Reads a message's data, keeping nothing past `maxBytes` (the rest is read and dropped, then refused). */
function readData(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(stream.sizeExceeded || size > maxBytes ? undefined : Buffer.concat(chunks)));
  });
}

/**
 * An SMTP server for the bounce domain (smtp-server): takes mail only for ALMANAC_BOUNCE_ADDRESS and
 * its `+tag` forms (anything else: 550, it never relays), and applies each message as `bounces ingest`
 * does before replying 250. What one stranger can cost is bounded (src/bounces/limits.ts): the size of
 * a message, its recipients, the messages parsed at once, the sessions of one client address, and how
 * long a session lasts. A failing store is reported to the client as "database unavailable", never
 * with the driver's words (they name hosts, users and databases).
 */
export async function startBounceListener(config: Config, store: Store, options: BounceListenerOptions): Promise<BounceListener> {
  const address = config.bounce.address;
  if (!address) throw new ConfigError('ALMANAC_BOUNCE_ADDRESS: expected the bounce address whose mail the listener receives, found nothing');
  const processor = await BounceProcessor.open(store, config);
  const maxBytes = options.maxBytes ?? MAX_BOUNCE_BYTES;
  const gate = new Gate(PARSE_CONCURRENCY);
  let received = 0;
  let guard: SessionGuard | undefined;
  const server = new SMTPServer({
    // No certificate is configured for it, and smtp-server's built-in one has expired: plain SMTP, no AUTH.
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: maxBytes,
    maxClients: MAX_CLIENTS,
    maxRecipients: MAX_RECIPIENTS,
    socketTimeout: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    banner: 'Almanac bounce processor',
    onConnect: (session, callback) => callback(guard!.admit(session)),
    onClose: (session) => guard!.release(session),
    onRcptTo(rcpt, _session, callback) {
      if (!isBounceAddress(address, rcpt.address)) {
        return callback(smtpError(550, `5.1.1 <${rcpt.address}>: no such mailbox here (this server only receives bounces)`));
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const name = `smtp #${++received} from ${session.remoteAddress}`;
      const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
      readData(stream, maxBytes)
        .then(async (raw) => {
          if (!raw) return callback(smtpError(552, `5.3.4 message too large: at most ${maxBytes} bytes`));
          let result: ProcessResult;
          try {
            result = await gate.run(() => processor.processOne({ name, raw, envelopeTo }));
          } catch (error) {
            // The store failed (down, locked, disk full): the sender keeps the message and tries again later.
            options.onError?.(error, name);
            return callback(smtpError(451, '4.3.0 database unavailable, try again later'));
          }
          options.onResult?.(result);
          if (result.outcome === 'not-a-message') return callback(smtpError(554, `5.6.0 ${result.line}`));
          callback(null, 'bounce processed');
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  guard = new SessionGuard(server, options.maxSessionsPerClient ?? MAX_SESSIONS_PER_CLIENT, options.maxSessionMs ?? MAX_SESSION_MS);
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // smtp-server logs socket errors as 'error' events: without a listener one would end the process.
  server.on('error', () => {});
  return {
    port: (server.server.address() as AddressInfo).port,
    host,
    close: () => {
      guard!.stop();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
