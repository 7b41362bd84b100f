/**
 * A discarding SMTP server for the benches, run as its own process so it does not share the
 * sender's event loop. Prints `{"port":N}` on stdout when listening; on SIGTERM prints
 * `{"messages":N,"recipients":N,"bytes":N}` and exits.
 */
import { SMTPServer } from 'smtp-server';
import { isMain } from './entry.ts';

/** Starts the sink on 127.0.0.1 (port 0 = ephemeral); resolves with the port and live counters. */
export async function startSink(port = 0) {
  const counts = { messages: 0, recipients: 0, bytes: 0 };
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    maxClients: 200,
    onData(stream, session, callback) {
      stream.on('data', (chunk: Buffer) => {
        counts.bytes += chunk.length;
      });
      stream.on('end', () => {
        counts.messages += 1;
        counts.recipients += session.envelope.rcptTo.length;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as { port: number }).port,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (isMain(import.meta.url)) {
  const sink = await startSink(Number(process.argv[2] ?? 0));
  process.stdout.write(`${JSON.stringify({ port: sink.port })}\n`);
  const stop = async () => {
    process.stdout.write(`${JSON.stringify(sink.counts)}\n`);
    await sink.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
