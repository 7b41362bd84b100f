import { Readable } from 'node:stream';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Config } from '../config.ts';
import { classifyReply } from './classify.ts';
import { installDataStreamFastPath } from './data-stream-fast-path.ts';
import { DkimSigner } from './dkim.ts';
import { isLoopback } from './loopback.ts';
import { TransportError } from './errors.ts';
import { rawBytes, type OutgoingMessage, type SendResult, type Transport } from './transport.ts';

interface RejectedError {
  responseCode?: number;
  response?: string;
}

interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  rejectedErrors?: RejectedError[];
}

type ConnectionOptions = ConstructorParameters<typeof SMTPConnection>[0] & { auth?: { user?: string; pass?: string } };

/**
 * nodemailer SMTPConnection options for a config: the URL's host, port, TLS mode and credentials,
 * plus our timeouts (exported for tests). When TLS is required, `requireTLS` makes nodemailer
 * issue STARTTLS even if the relay does not offer it, and fail before AUTH or MAIL if that fails.
 */
export function connectionOptions(config: Config): ConnectionOptions {
  const url = parseConnectionUrl(config.smtp.url) as ConnectionOptions;
  return {
    ...url,
    requireTLS: !url.secure && requiresTls(config.smtp.tlsVerify, url.host),
    tls: { rejectUnauthorized: verifiesCertificate(config.smtp.tlsVerify, url.host) },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  };
}

/**
 * Whether the relay's certificate must be valid. 'auto' verifies it unless the relay listens on
 * this machine's loopback: there no network sits between us, so verification guards nothing, and
 * local relays commonly offer STARTTLS with a self-signed certificate (Debian's Postfix does).
 */
export function verifiesCertificate(setting: Config['smtp']['tlsVerify'], host: string | undefined): boolean {
  if (setting !== 'auto') return setting === 'true';
  return !isLoopback(host ?? 'localhost');
}

/**
 * Whether the session must be encrypted before credentials or mail cross it: always for a relay
 * that is not on this machine's loopback (whatever SMTP_TLS_VERIFY says: an unverified
 * certificate still hides the password from a passive listener), and for any relay with
 * SMTP_TLS_VERIFY=true. A relay on loopback with 'auto' or 'false' may speak in clear.
 */
export function requiresTls(setting: Config['smtp']['tlsVerify'], host: string | undefined): boolean {
  return setting === 'true' || !isLoopback(host ?? 'localhost');
}

/** Why TLS is required, for the error an operator reads. */
function tlsReason(setting: Config['smtp']['tlsVerify']): string {
  return setting === 'true' ? 'SMTP_TLS_VERIFY=true' : 'the relay is not on this machine\'s loopback';
}

/**
 * SMTP through a pool of nodemailer connections (`nodemailer/lib/smtp-connection`: `smtp://`
 * upgrades with STARTTLS when the server offers it, `smtps://` is TLS from the start, credentials in
 * the URL are used to AUTH). Up to `SMTP_MAX_CONNECTIONS` connections stay open for the whole run.
 *
 * Why not `nodemailer.createTransport({ pool: true })`: messages are prebuilt, so the mailer's
 * per-message work (a MIME tree, a message stream, plugins, a random Message-ID it then ignores)
 * is pure overhead, and it cost more CPU than everything else a send does per recipient (see the
 * README's Performance section). Each connection copies a message's byte pieces into one buffer
 * it reuses, so a run's memory does not grow with the messages sent.
 */
export function createSmtpTransport(config: Config): Transport {
  installDataStreamFastPath();
  const options = connectionOptions(config);
  const { user, pass } = options.auth ?? {};
  const auth = user || pass ? { user: user ?? '', credentials: { user: user ?? '', pass: pass ?? '' } } : undefined;
  const dkim = config.dkim ? new DkimSigner(config.dkim) : undefined;
  const max = config.smtp.maxConnections;
  const idle: Channel[] = [];
  const waiting: (() => void)[] = [];
  let busy = 0;
  let closed = false;

  /** Waits for a free slot (at most `max` messages on the wire at once). */
  const acquireSlot = async () => {
    while (busy >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    busy++;
  };
  const releaseSlot = (channel: Channel | undefined) => {
    busy--;
    if (channel?.usable && !closed) idle.push(channel);
    else channel?.close();
    waiting.shift()?.();
  };
  const tls = options.requireTLS ? { host: `${options.host ?? 'localhost'}:${options.port ?? 25}`, reason: tlsReason(config.smtp.tlsVerify) } : undefined;
  const openChannel = async () => {
    const channel = new Channel(options);
    await channel.open(auth, tls);
    return channel;
  };

  return {
    kind: 'smtp',
    async send(message: OutgoingMessage): Promise<SendResult> {
      if (closed) throw new TransportError(`SMTP transport closed, not sending ${message.editionId} to ${message.to}`, { inDoubt: false, code: 'ECLOSED' });
      await acquireSlot();
      let channel: Channel | undefined;
      const probe: DataProbe = { dataStarted: false, endOfData: false };
      // DKIM: the signature is computed (on libuv's thread pool) while MAIL FROM, RCPT TO and DATA
      // go back and forth; the body is read only after the server's 354, so it waits for it there.
      const raw = dkim ? signed(dkim, message.raw) : message.raw;
      if (raw instanceof Promise) raw.catch(() => undefined); // a copy refused at RCPT never reads it
      try {
        channel = idle.pop();
        const reused = channel !== undefined;
        channel ??= await openChannel();
        try {
          return await attempt(channel, message, raw, probe);
        } catch (error) {
          // A pooled connection the server closed while it sat idle fails before the data: that
          // is not an outage, so the message gets one fresh connection before it counts as failed.
          if (!reused || probe.dataStarted || channel.usable) throw error;
          channel.close();
          channel = await openChannel();
          return await attempt(channel, message, raw, probe);
        }
      } catch (error) {
        const e = error as NodemailerError;
        throw new TransportError(`SMTP ${e.originalCode ?? e.code ?? 'error'} sending ${message.editionId} to ${message.to}: ${e.message}`, {
          inDoubt: probe.endOfData,
          code: e.originalCode ?? e.code,
          responseCode: e.responseCode,
          cause: error,
        });
      } finally {
        releaseSlot(channel);
      }
    },
    async close() {
      closed = true;
      for (const channel of idle.splice(0)) channel.quit();
    },
  };
}

/**
 * One SMTP transaction on a channel: 250, or the server's own classified reply (nothing in doubt:
 * it has spoken). Connection-level failures are thrown for the caller to classify.
 */
async function attempt(channel: Channel, message: OutgoingMessage, raw: MessageRaw, probe: DataProbe): Promise<SendResult> {
  try {
    const response = await channel.send(message, raw, probe);
    return { status: 'sent', response };
  } catch (error) {
    const e = error as NodemailerError;
    // A recipient-level reply: all (= our one) recipients rejected.
    const rejected = e.rejectedErrors?.[0];
    if (rejected) {
      await channel.reset();
      return classifyReply(rejected.responseCode ?? 550, rejected.response ?? String(rejected.responseCode ?? 'unknown reply'));
    }
    if (e.responseCode && e.response && e.code !== 'ETIMEDOUT') {
      // The server's own reply (to MAIL FROM, DATA, or a 421 before it hung up): it has spoken,
      // so nothing is in doubt. E.g. 552 too large, 554 5.7.1 rejected as spam, 421 shutting down.
      await channel.reset();
      return classifyReply(e.responseCode, e.response);
    }
    throw error;
  }
}

/** How far a message got on its connection. */
interface DataProbe {
  /** The body started flowing to the server (after its 354 reply to DATA). */
  dataStarted: boolean;
  /** The body ended, so the end-of-data `.` may have been written: from here on a lost copy is in doubt. */
  endOfData: boolean;
}

/** A message to send: as given, or (DKIM) the signed pieces once the signature is ready. */
type MessageRaw = OutgoingMessage['raw'] | Promise<readonly Buffer[]>;

/**
 * One message's bytes as a stream that notes how far it got. nodemailer pipes the message into the
 * connection only after the server accepted the envelope and answered DATA with 354, and writes the
 * end-of-data `.` only when this stream ends. The stream ends after `beforeEndOfData` resolves (the
 * sender has recorded "may have arrived"), so a connection lost before that cannot have delivered it.
 * The bytes are taken when first read: a signed copy's signature may still be computing until then
 * (a signing failure then fails the copy before its end-of-data: not delivered, not in doubt).
 */
class MessageBody extends Readable {
  private pushed = false;

  constructor(
    private readonly bytes: () => Buffer | Promise<Buffer>,
    private readonly probe: DataProbe,
    private readonly beforeEndOfData: (() => Promise<void>) | undefined,
  ) {
    super();
  }

  override _read(): void {
    if (this.pushed) return; // the bytes went in one push; only the end is left
    this.pushed = true;
    const bytes = this.bytes();
    if (bytes instanceof Promise) bytes.then((b) => this.pushAll(b), (error: unknown) => this.destroy(error as Error));
    else this.pushAll(bytes);
  }

  private pushAll(bytes: Buffer): void {
    this.push(bytes);
    const end = () => {
      this.probe.endOfData = true;
      this.push(null);
    };
    if (!this.beforeEndOfData) return end();
    this.beforeEndOfData().then(end, (error: unknown) => this.destroy(error as Error));
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.probe.dataStarted = true;
    return super.pipe(destination, options);
  }
}

/** One SMTP connection of the pool and the buffer its messages are assembled in. */
class Channel {
  private readonly connection: SMTPConnection;
  private buffer = Buffer.alloc(0);
  /** False once the connection failed, ended or was closed. */
  usable = true;
  private failure: Error | undefined;

  constructor(options: ConnectionOptions) {
    this.connection = new SMTPConnection(options);
    // Errors reach the pending callback too; these listeners keep an idle connection's error
    // (the server timing out an idle session) from crashing the process, and mark it unusable.
    this.connection.on('error', (error: Error) => {
      this.usable = false;
      this.failure ??= error;
    });
    this.connection.on('end', () => {
      this.usable = false;
    });
  }

  /**
   * Connects (greeting, EHLO, STARTTLS when offered) and logs in when credentials are given. With
   * `requiredTls`, a session that is not encrypted fails here, before AUTH and before any mail.
   */
  open(auth: { user: string; credentials: { user: string; pass: string } } | undefined, requiredTls?: { host: string; reason: string }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        this.close();
        reject(requiredTls ? starttlsRefused(error, requiredTls) : error);
      };
      this.connection.once('error', fail);
      this.connection.connect((error?: Error | null) => {
        if (error) return fail(error);
        if (requiredTls && !this.connection.secure) {
          // nodemailer's requireTLS already stops a session STARTTLS could not encrypt; this holds even if it did not.
          return fail(Object.assign(new Error('Error upgrading connection with STARTTLS'), { code: 'ETLS' }));
        }
        if (!auth || !this.connection.allowsAuth) {
          settled = true;
          return resolve();
        }
        this.connection.login(auth, (loginError) => {
          if (loginError) return fail(loginError);
          settled = true;
          resolve();
        });
      });
    });
  }

  /** The message's bytes; byte pieces are joined in this connection's reusable buffer (valid until its next message). */
  bytes(raw: OutgoingMessage['raw']): Buffer {
    if (typeof raw === 'string' || Buffer.isBuffer(raw)) return rawBytes(raw);
    let length = 0;
    for (const piece of raw) length += piece.length;
    // The previous message is fully written: the server replied to its end-of-data dot.
    if (this.buffer.length < length) this.buffer = Buffer.allocUnsafe(Math.ceil(length * 1.25));
    let offset = 0;
    for (const piece of raw) offset += piece.copy(this.buffer, offset);
    return this.buffer.subarray(0, length);
  }

  send(message: OutgoingMessage, raw: MessageRaw, probe: DataProbe): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (!this.usable) return reject(this.failure ?? Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' }));
      // Joined in this connection's buffer when nodemailer reads the body (after the server's 354).
      const bytes = () => (raw instanceof Promise ? raw.then((pieces) => this.bytes(pieces)) : this.bytes(raw));
      this.connection.send({ from: message.from, to: [message.to] }, new MessageBody(bytes, probe, message.beforeEndOfData), (error, info) => {
        // The body failed mid-DATA (its end-of-data gate or its signature): the session is stuck
        // inside the data, so this connection must not carry another message.
        if (error && (error as NodemailerError).code === 'ESTREAM') this.close();
        if (error) return reject(error);
        resolve(String(info.response ?? '250'));
      });
    });
  }

  /** RSET after a refused transaction; a connection that cannot reset is dropped. */
  reset(): Promise<void> {
    if (!this.usable) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.connection.reset((error) => {
        if (error) this.close();
        resolve();
      });
    });
  }

  quit(): void {
    this.usable = false;
    this.connection.quit();
  }

  close(): void {
    this.usable = false;
    this.connection.close();
  }
}

/**
 * nodemailer's failure to upgrade (the relay refused STARTTLS, or never offered it) as an error that
 * says what happened and what to do; other errors (a refused certificate, a refused connection) pass.
 */
function starttlsRefused(error: Error & { code?: string }, tls: { host: string; reason: string }): Error {
  if (error.code !== 'ETLS' || !/upgrading connection with STARTTLS/i.test(error.message)) return error;
  return Object.assign(
    new Error(
      `the SMTP relay ${tls.host} does not offer STARTTLS, and TLS is required (${tls.reason}): refusing to authenticate or send mail in clear text. Enable STARTTLS on the relay, or use smtps:// for TLS from the start`,
      { cause: error },
    ),
    { code: 'ETLS' },
  );
}

/** The message with its DKIM-Signature header lines in front, as byte pieces (the body is not copied). */
async function signed(dkim: DkimSigner, raw: OutgoingMessage['raw']): Promise<readonly Buffer[]> {
  const pieces = typeof raw === 'string' || Buffer.isBuffer(raw) ? [rawBytes(raw)] : raw;
  return [await dkim.sign(pieces), ...pieces];
}
