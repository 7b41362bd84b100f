import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';

/** The test certificate (self-signed, for localhost and 127.0.0.1): trust it with NODE_EXTRA_CA_CERTS. */
export const TEST_TLS_CERT = join(import.meta.dirname, 'fixtures', 'tls', 'cert.pem');
const TEST_TLS_KEY = join(import.meta.dirname, 'fixtures', 'tls', 'key.pem');

/** One message as the test SMTP server received it. */
export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: string;
  /** The server dropped the connection after receiving the data, before replying (the client cannot know it arrived). */
  dropped?: boolean;
  /** The session was encrypted (STARTTLS or TLS from the start). */
  secure?: boolean;
}

/** What the server answers for a recipient: accept, or an SMTP error reply. */
export type RcptDecision = 'accept' | { code: number; message: string } | 'drop';

/** What the server does once a message's data has arrived: reply 250, or drop the connection without a reply. */
export type DataDecision = 'accept' | 'drop';

export interface TestSmtpServer {
  port: number;
  url: string;
  messages: ReceivedMessage[];
  /** Every recipient address in every accepted message, in arrival order. */
  recipients(): string[];
  /** How many RCPT TO commands arrived for an address (any reply). */
  rcptAttempts(address: string): number;
  /** How many connections clients have opened so far. */
  connectionsOpened(): number;
  /** Drops every open connection but keeps listening (a relay closing idle sessions). */
  dropConnections(): void;
  /** Stops listening and drops every open connection at once (a crashed relay). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  /** Decide per RCPT TO; `attempt` counts earlier RCPTs for the same address (1 = first). */
  onRcpt?: (address: string, attempt: number) => RcptDecision;
  /** Called after a message is accepted. */
  onMessage?: (message: ReceivedMessage) => void;
  /** Decide once the data has arrived; 'drop' records the message (flagged `dropped`) and drops the connection without a reply. */
  onData?: (message: ReceivedMessage) => DataDecision;
  /** Milliseconds to wait before the 250 reply to DATA (a slow relay). @default 0 */
  replyDelayMs?: number | (() => number);
  /** Listen on this port (e.g. to restart a killed server on the same URL). @default 0 (ephemeral) */
  port?: number;
  /**
   * Offer STARTTLS, or speak TLS from the start (smtps), with the test certificate; or offer STARTTLS
   * with smtp-server's own built-in certificate, as an smtp-server with default options does (it has
   * expired). @default no TLS
   */
  tls?: 'starttls' | 'implicit' | 'starttls-builtin-cert';
  /** Require AUTH (PLAIN or LOGIN, allowed without TLS on loopback) with these credentials; others get 535. @default no AUTH */
  auth?: { user: string; pass: string };
}

interface ServerConnection {
  _socket: { destroy(): void };
  session: SMTPServerSession;
}

/** Starts a real SMTP server (smtp-server) on 127.0.0.1 with an ephemeral port. */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const attempts = new Map<string, number>();
  let opened = 0;
  const connections = () => (server as unknown as { connections: Set<ServerConnection> }).connections;
  const dropSession = (session: SMTPServerSession) => {
    for (const conn of connections()) {
      if (conn.session === session) conn._socket.destroy();
    }
  };
  const server = new SMTPServer({
    disabledCommands: [...(options.auth ? [] : ['AUTH']), ...(options.tls ? [] : ['STARTTLS'])],
    ...(options.auth
      ? {
          authMethods: ['PLAIN', 'LOGIN'],
          allowInsecureAuth: true,
          onAuth(auth: SMTPServerAuthentication, _session: SMTPServerSession, callback: (err: Error | null, response?: { user: string }) => void) {
            if (auth.username === options.auth!.user && auth.password === options.auth!.pass) return callback(null, { user: auth.username });
            callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
          },
        }
      : {}),
    ...(options.tls === 'starttls' || options.tls === 'implicit'
      ? { key: readFileSync(TEST_TLS_KEY), cert: readFileSync(TEST_TLS_CERT), secure: options.tls === 'implicit' }
      : {}),
    authOptional: !options.auth,
    disableReverseLookup: true,
    logger: false,
    size: 10 * 1024 * 1024,
    closeTimeout: 100,
    onConnect(_session, callback) {
      opened++;
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const email = address.address.toLowerCase();
      const attempt = (attempts.get(email) ?? 0) + 1;
      attempts.set(email, attempt);
      const decision = options.onRcpt?.(email, attempt) ?? 'accept';
      if (decision === 'accept') return callback();
      if (decision === 'drop') {
        // Drop the TCP connection without a reply, as a crashing relay would.
        dropSession(session);
        return;
      }
      callback(Object.assign(new Error(decision.message), { responseCode: decision.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const message: ReceivedMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
        };
        if (options.onData?.(message) === 'drop') {
          messages.push({ ...message, dropped: true });
          dropSession(session);
          return;
        }
        const reply = () => {
          messages.push(message);
          options.onMessage?.(message);
          callback();
        };
        const delay = typeof options.replyDelayMs === 'function' ? options.replyDelayMs() : options.replyDelayMs;
        if (delay) setTimeout(reply, delay);
        else reply();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A client that drops a session (a refused certificate, a killed sender) resets its socket;
    // smtp-server reports that as an 'error' event, which is not the test's business.
    server.on('error', () => {});
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  const shutdown = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.server.close(() => resolve());
      for (const conn of connections()) conn._socket.destroy();
    }));
  return {
    port,
    url: `${options.tls === 'implicit' ? 'smtps' : 'smtp'}://127.0.0.1:${port}`,
    messages,
    recipients: () => messages.flatMap((m) => m.to),
    rcptAttempts: (address) => attempts.get(address.toLowerCase()) ?? 0,
    connectionsOpened: () => opened,
    dropConnections: () => {
      for (const conn of connections()) conn._socket.destroy();
    },
    kill: shutdown,
    close: shutdown,
  };
}
