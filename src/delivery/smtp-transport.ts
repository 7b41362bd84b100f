import nodemailer from 'nodemailer';
import type { MailMessage, SMTPPoolOptions, SendMailOptions } from 'nodemailer';
import type { Config } from '../config.ts';
import { classifyReply } from './classify.ts';
import { TransportError } from './errors.ts';
import { rawBytes, type OutgoingMessage, type SendResult, type Transport } from './transport.ts';

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
  pool.use('stream', watchDataPhase);
  return {
    kind: 'smtp',
    async send(message: OutgoingMessage): Promise<SendResult> {
      const probe: DataProbe = { dataStarted: false };
      try {
        const info = await pool.sendMail({ envelope: { from: message.from, to: [message.to] }, raw: rawBytes(message.raw), [PROBE]: probe } as SendMailOptions);
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
          `SMTP ${e.originalCode ?? e.code ?? 'error'} sending ${message.editionId} to ${message.to}: ${e.message}`,
          { inDoubt: probe.dataStarted, code: e.originalCode ?? e.code, cause: error },
        );
      }
    },
    async close() {
      pool.close();
    },
  };
}

const PROBE = 'almanacDataProbe';

/** Set once the message body starts flowing to the server (after its 354 reply to DATA). */
interface DataProbe {
  dataStarted: boolean;
}

/**
 * nodemailer 'stream' plugin: tells whether a message could have reached the server. nodemailer
 * pipes the message stream into the connection only after the server accepted the envelope and
 * answered DATA with 354 (smtp-connection `send`), so a connection lost before that `pipe` call
 * cannot have delivered it; one lost after it may have (the end-of-data dot may have been read).
 */
function watchDataPhase(mail: MailMessage, done: (err?: Error | null) => void): void {
  const probe = (mail.data as Record<string, unknown>)[PROBE] as DataProbe | undefined;
  const message = mail.message as unknown as { createReadStream: (...args: unknown[]) => NodeJS.ReadableStream };
  if (probe) {
    const create = message.createReadStream.bind(message);
    message.createReadStream = (...args: unknown[]) => {
      const stream = create(...args);
      const pipe = stream.pipe.bind(stream);
      stream.pipe = ((destination: NodeJS.WritableStream, options?: { end?: boolean }) => {
        probe.dataStarted = true;
        return pipe(destination, options);
      }) as typeof stream.pipe;
      return stream;
    };
  }
  done();
}

function classifyRejected(rejected: RejectedError): SendResult {
  const response = rejected.response ?? String(rejected.responseCode ?? 'unknown reply');
  return classifyReply(rejected.responseCode ?? 550, response);
}
