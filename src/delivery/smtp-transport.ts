import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import type { SMTPPoolOptions } from 'nodemailer';
import type { Config } from '../config.ts';
import { classifyReply } from './classify.ts';
import { TransportError } from './errors.ts';
import type { OutgoingMessage, SendResult, Transport } from './transport.ts';

/**
 * Headers covered by the DKIM signature. RFC 8058 one-click unsubscribe is only honoured when the
 * signature covers both List-Unsubscribe and List-Unsubscribe-Post.
 */
export const DKIM_SIGNED_HEADERS = [
  'From', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post',
].join(':');

interface RejectedError {
  responseCode?: number;
  response?: string;
  recipient?: string;
}

interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  rejectedErrors?: RejectedError[];
}

/** The nodemailer pool options for a config (exported for tests). */
export function poolOptions(config: Config): SMTPPoolOptions {
  return {
    url: config.smtp.url,
    pool: true,
    maxConnections: config.smtp.maxConnections,
    // Connections are reused for the whole run; reconnecting every 100 messages costs throughput.
    maxMessages: Infinity,
    // Never let the pool resend a message on its own after a dropped connection: it cannot know
    // whether the server already has it. The sender decides (and records it as in doubt).
    maxRequeues: 0,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    ...(config.dkim
      ? {
          dkim: {
            domainName: config.dkim.domainName,
            keySelector: config.dkim.keySelector,
            privateKey: config.dkim.privateKey,
            headerFieldNames: DKIM_SIGNED_HEADERS,
          },
        }
      : {}),
  } as SMTPPoolOptions;
}

/**
 * nodemailer pooled SMTP (`smtp://` upgrades with STARTTLS when offered, `smtps://` is TLS from the
 * start, credentials in the URL). Messages are prebuilt: `sendMail({ envelope, raw })`.
 */
export function createSmtpTransport(config: Config): Transport {
  const pool = nodemailer.createTransport(poolOptions(config));
  return {
    kind: 'smtp',
    async send(message: OutgoingMessage): Promise<SendResult> {
      // The raw message is handed over as a stream so we can tell whether the server could have it:
      // the stream only ends once nodemailer has read all of it for the DATA phase (after the 354).
      // A connection lost before that cannot have delivered the message; one lost after it may have.
      let dataWritten = false;
      const raw = Readable.from([message.raw], { objectMode: false });
      raw.once('end', () => {
        dataWritten = true;
      });
      try {
        const info = await pool.sendMail({ envelope: { from: message.from, to: [message.to] }, raw });
        const rejected = (info.rejectedErrors as RejectedError[] | undefined)?.[0];
        if (rejected) return classifyRejected(rejected);
        return { status: 'sent', response: String(info.response ?? '250') };
      } catch (error) {
        const e = error as NodemailerError;
        // A recipient-level reply: all (= our one) recipient rejected, classified through rejectedErrors.
        const rejected = e.rejectedErrors?.[0];
        if (rejected) return classifyRejected(rejected);
        if (e.responseCode && e.response && e.code !== 'ETIMEDOUT') {
          // The server's own reply (to MAIL FROM, DATA, or a 421 before it hung up): it has spoken,
          // so nothing is in doubt. E.g. 552 too large, 554 5.7.1 rejected as spam, 421 shutting down.
          return classifyReply(e.responseCode, e.response);
        }
        throw new TransportError(
          `SMTP ${e.code ?? 'error'} sending ${message.editionId} to ${message.to}: ${e.message}`,
          { inDoubt: dataWritten, code: e.originalCode ?? e.code, cause: error },
        );
      }
    },
    async close() {
      pool.close();
    },
  };
}

function classifyRejected(rejected: RejectedError): SendResult {
  const response = rejected.response ?? String(rejected.responseCode ?? 'unknown reply');
  return classifyReply(rejected.responseCode ?? 550, response);
}
