import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

/** One message as the test SMTP server received it. */
export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: string;
}

/** What the server answers for a recipient: accept, or an SMTP error reply. */
export type RcptDecision = 'accept' | { code: number; message: string } | 'drop';

export interface TestSmtpServer {
  port: number;
  url: string;
  messages: ReceivedMessage[];
  /** Every recipient address in every accepted message, in arrival order. */
  recipients(): string[];
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  /** Decide per RCPT TO; `attempt` counts earlier RCPTs for the same address (1 = first). */
  onRcpt?: (address: string, attempt: number) => RcptDecision;
  /** Called after a message is accepted. */
  onMessage?: (message: ReceivedMessage) => void;
}

/** Starts a real SMTP server (smtp-server) on 127.0.0.1 with an ephemeral port. */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const attempts = new Map<string, number>();
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const email = address.address.toLowerCase();
      const attempt = (attempts.get(email) ?? 0) + 1;
      attempts.set(email, attempt);
      const decision = options.onRcpt?.(email, attempt) ?? 'accept';
      if (decision === 'accept') return callback();
      if (decision === 'drop') {
        // Drop the TCP connection without a reply, as a crashing relay would.
        (session as unknown as { socket?: { destroy(): void } }).socket?.destroy();
        for (const conn of (server as unknown as { connections: Set<{ _socket: { destroy(): void }; session: SMTPServerSession }> }).connections) {
          if (conn.session === session) conn._socket.destroy();
        }
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
        };
        messages.push(message);
        options.onMessage?.(message);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    recipients: () => messages.flatMap((m) => m.to),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
