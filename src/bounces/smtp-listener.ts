import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { ConfigError, type Config } from '../config.ts';
import type { Store } from '../store/handle.ts';
import { BounceProcessor, type ProcessResult } from './process.ts';
import { isBounceAddress } from './verp.ts';

/** Largest message the listener takes (a DSN with a returned edition is well under 1 MB). @default 10 MB */
export const MAX_BOUNCE_BYTES = 10 * 1024 * 1024;

/** Options of the bounce SMTP listener. */
export interface BounceListenerOptions {
  port: number;
  /** @default '0.0.0.0' (it is the bounce domain's MX) */
  host?: string;
  /** @default MAX_BOUNCE_BYTES */
  maxBytes?: number;
  /** One call per message handled. */
  onResult?: (result: ProcessResult) => void;
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

/**
 * An SMTP server for the bounce domain (smtp-server): takes mail only for ALMANAC_BOUNCE_ADDRESS and
 * its `+tag` forms (anything else: 550, it never relays), at most `maxBytes` per message, and applies
 * each message as `bounces ingest` does before replying 250.
 */
export async function startBounceListener(config: Config, store: Store, options: BounceListenerOptions): Promise<BounceListener> {
  const address = config.bounce.address;
  if (!address) throw new ConfigError('ALMANAC_BOUNCE_ADDRESS: expected the bounce address whose mail the listener receives, found nothing');
  const processor = await BounceProcessor.open(store, config);
  const maxBytes = options.maxBytes ?? MAX_BOUNCE_BYTES;
  let received = 0;
  const server = new SMTPServer({
    // No certificate is configured for it, and smtp-server's built-in one has expired: plain SMTP, no AUTH.
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: maxBytes,
    maxClients: 50,
    banner: 'Almanac bounce processor',
    onRcptTo(rcpt, _session, callback) {
      if (!isBounceAddress(address, rcpt.address)) {
        return callback(smtpError(550, `5.1.1 <${rcpt.address}>: no such mailbox here (this server only receives bounces)`));
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxBytes) chunks.push(chunk);
      });
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        if (stream.sizeExceeded || size > maxBytes) return callback(smtpError(552, `5.3.4 message too large: at most ${maxBytes} bytes`));
        const name = `smtp #${++received} from ${session.remoteAddress}`;
        processor
          .processOne({ name, raw: Buffer.concat(chunks), envelopeTo: session.envelope.rcptTo.map((r) => r.address) })
          .then((result) => {
            options.onResult?.(result);
            if (result.outcome === 'not-a-message') return callback(smtpError(554, `5.6.0 ${result.line}`));
            callback(null, 'bounce processed');
          })
          // The store failed (locked, disk full): the sender keeps the message and tries again later.
          .catch((error: unknown) => callback(smtpError(451, `4.3.0 cannot process the bounce now: ${(error as Error).message}`)));
      });
    },
  });
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
