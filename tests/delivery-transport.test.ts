import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { buildMessage, buildMessageBytes, compileMessage, newMessageId } from '../src/delivery/mime.ts';
import { requiresTls, verifiesCertificate } from '../src/delivery/smtp-transport.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import { TransportError, type OutgoingMessage, type Transport } from '../src/delivery/transport.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { address, harness, seedSubscribers, type Harness } from './delivery-fixtures.ts';
import { SMTPServer } from 'smtp-server';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(
  env: Record<string, string>,
  server?: TestSmtpServer,
): Promise<{ h: Harness; message: (to: string) => OutgoingMessage; pieces: (to: string) => OutgoingMessage & { raw: Buffer[] } }> {
  const h = await harness(server ? { SMTP_URL: server.url, ...env } : env);
  cleanup.push(() => h.close());
  if (server) cleanup.push(() => server.close());
  const template = compileMessage(h.rendered, {
    from: h.config.from,
    replyTo: h.config.replyTo,
    mailDomain: h.config.mailDomain,
    listId: { name: 'Midweek', domain: `midweek.${h.config.mailDomain}` },
  });
  const message = (to: string): OutgoingMessage => {
    const messageId = newMessageId(h.config.mailDomain);
    const raw = buildMessage(template, {
      to,
      links: { unsubscribeUrl: 'https://almanac.example/unsubscribe/tok', preferencesUrl: 'https://almanac.example/preferences/tok' },
      messageId,
      date: new Date(),
    });
    return { from: 'newsletter@almanac.example', to, raw, messageId, editionId: h.edition.id };
  };
  // As the sender builds copies: byte pieces, with per-recipient links of different lengths.
  const pieces = (to: string) => {
    const messageId = newMessageId(h.config.mailDomain);
    const token = to.repeat(1 + (to.length % 4));
    const raw = buildMessageBytes(template, {
      to,
      links: { unsubscribeUrl: `https://almanac.example/unsubscribe/${token}`, preferencesUrl: `https://almanac.example/preferences/${token}` },
      messageId,
      date: new Date(),
    });
    return { from: 'newsletter@almanac.example', to, raw, messageId, editionId: h.edition.id };
  };
  return { h, message, pieces };
}

async function sendError(transport: Transport, message: OutgoingMessage): Promise<TransportError> {
  const error = await transport.send(message).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

describe('SMTP transport against a real server', () => {
  test('replies are classified per recipient: 250 sent, 4xx deferred (421 too), 5.1.1 bounced, 5.7.1 failed', async () => {
    const server = await startSmtpServer({
      onRcpt: (address) =>
        address.startsWith('gone')
          ? { code: 550, message: '5.1.1 No such user' }
          : address.startsWith('busy')
            ? { code: 451, message: '4.3.0 Try again later' }
            : address.startsWith('throttle')
              ? { code: 421, message: '4.7.0 Too many messages, slow down' }
              : address.startsWith('policy')
                ? { code: 554, message: '5.7.1 Rejected by policy' }
                : 'accept',
    });
    const { h, message } = await setup({}, server);
    const results = Object.fromEntries(
      await Promise.all(
        ['ok@example.org', 'gone@example.org', 'busy@example.org', 'throttle@example.org', 'policy@example.org'].map(
          async (to) => [to, await h.transport.send(message(to))] as const,
        ),
      ),
    );
    expect(results['ok@example.org']).toMatchObject({ status: 'sent' });
    expect(results['gone@example.org']).toMatchObject({ status: 'bounced', code: 550, enhanced: '5.1.1' });
    expect(results['busy@example.org']).toMatchObject({ status: 'deferred', code: 451, enhanced: '4.3.0' });
    expect(results['throttle@example.org']).toMatchObject({ status: 'deferred', code: 421, enhanced: '4.7.0' });
    expect(results['policy@example.org']).toMatchObject({ status: 'failed', code: 554, enhanced: '5.7.1' });
    expect(server.recipients()).toEqual(['ok@example.org']);
  });

  test('a connection dropped before the data is not in doubt; one dropped after the data (before the reply) is', async () => {
    const server = await startSmtpServer({
      onRcpt: (address) => (address.startsWith('drop-rcpt') ? 'drop' : 'accept'),
      onData: (m) => (m.to[0]!.startsWith('drop-data') ? 'drop' : 'accept'),
    });
    const { h, message } = await setup({}, server);
    expect(await h.transport.send(message('first@example.org'))).toMatchObject({ status: 'sent' });
    // on a reused connection (nodemailer's requeue path) and on a fresh one
    for (const to of ['drop-rcpt@example.org', 'drop-rcpt2@example.org']) {
      const beforeData = await sendError(h.transport, message(to));
      expect(beforeData.inDoubt).toBe(false);
    }
    const afterData = await sendError(h.transport, message('drop-data@example.org'));
    expect(afterData.inDoubt).toBe(true);
    expect(afterData.code).toBe('ECONNECTION');
    // the pool recovers with a new connection
    expect(await h.transport.send(message('ok@example.org'))).toMatchObject({ status: 'sent' });
    expect(server.messages.map((m) => [m.to[0], !!m.dropped])).toEqual([
      ['first@example.org', false],
      ['drop-data@example.org', true],
      ['ok@example.org', false],
    ]);
  });

  test('at most SMTP_MAX_CONNECTIONS connections carry every message, each arriving byte for byte as built', async () => {
    const server = await startSmtpServer({ replyDelayMs: () => Math.floor(Math.random() * 5) });
    const { h, pieces } = await setup({ SMTP_MAX_CONNECTIONS: '2' }, server);
    // Addresses of different lengths give copies of different sizes through each reused buffer.
    const messages = Array.from({ length: 40 }, (_, i) => pieces(`${'r'.repeat(1 + ((i * 7) % 23))}${i}@example.org`));
    const results = await Promise.all(messages.map((m) => h.transport.send(m)));
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(server.connectionsOpened()).toBe(2);
    const received = new Map(server.messages.map((m) => [m.to[0], m.raw]));
    for (const m of messages) expect(received.get(m.to)).toBe(Buffer.concat(m.raw).toString('utf8'));
  });

  test('a pooled connection the relay closed while idle is replaced; the message is sent, not failed', async () => {
    const server = await startSmtpServer();
    const { h, message } = await setup({ SMTP_MAX_CONNECTIONS: '1' }, server);
    expect(await h.transport.send(message('first@example.org'))).toMatchObject({ status: 'sent' });
    server.dropConnections(); // the client has not seen the close yet when it sends
    expect(await h.transport.send(message('second@example.org'))).toMatchObject({ status: 'sent' });
    server.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 100)); // now it has
    expect(await h.transport.send(message('third@example.org'))).toMatchObject({ status: 'sent' });
    expect(server.recipients()).toEqual(['first@example.org', 'second@example.org', 'third@example.org']);
    expect(server.connectionsOpened()).toBe(3);
  });

  test("the relay's certificate is verified unless it is on loopback (auto), or as SMTP_TLS_VERIFY says", () => {
    for (const host of ['smtp.example.com', '10.0.0.25', '192.168.1.2', 'localhost.example.com', '128.0.0.1']) {
      expect(verifiesCertificate('auto', host), host).toBe(true);
    }
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) {
      expect(verifiesCertificate('auto', host), host).toBe(false);
    }
    expect(verifiesCertificate('true', '127.0.0.1')).toBe(true);
    expect(verifiesCertificate('false', 'smtp.example.com')).toBe(false);
  });

  test('TLS is required for a relay off loopback (whatever SMTP_TLS_VERIFY says) and for any relay with SMTP_TLS_VERIFY=true', () => {
    for (const setting of ['auto', 'true', 'false'] as const) {
      for (const host of ['smtp.example.com', '10.0.0.25', '128.0.0.1', 'mail.local']) expect(requiresTls(setting, host), `${setting} ${host}`).toBe(true);
    }
    for (const host of ['localhost', '127.0.0.1', '::1']) {
      expect(requiresTls('auto', host), host).toBe(false);
      expect(requiresTls('false', host), host).toBe(false);
      expect(requiresTls('true', host), host).toBe(true);
    }
  });

  test('a relay that offers AUTH but no STARTTLS gets neither credentials nor mail when TLS is required (SMTP_TLS_VERIFY=true)', async () => {
    const seen: string[] = [];
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      disableReverseLookup: true,
      logger: false,
      onAuth(auth, _session, cb) {
        seen.push(`AUTH ${auth.username}:${auth.password}`);
        cb(null, { user: auth.username });
      },
      onMailFrom(address, _session, cb) {
        seen.push(`MAIL ${address.address}`);
        cb();
      },
      onData(stream, _session, cb) {
        seen.push('DATA');
        stream.resume();
        stream.on('end', () => cb());
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.server.address() as { port: number }).port;
    const url = `smtp://news%40almanac.example:s3cret@127.0.0.1:${port}`;

    const { h, message } = await setup({ SMTP_URL: url, SMTP_TLS_VERIFY: 'true' });
    const error = await sendError(h.transport, message('reader@example.org'));
    expect(error.message).toContain(`the SMTP relay 127.0.0.1:${port} does not offer STARTTLS, and TLS is required (SMTP_TLS_VERIFY=true)`);
    expect(error.message).toContain('refusing to authenticate or send mail in clear text');
    expect(error.message).not.toContain('s3cret');
    expect(error.code).toBe('ETLS');
    expect(error.inDoubt).toBe(false);
    expect(seen).toEqual([]);

    // The whole send stops at once with the STARTTLS error (no outage retries: they cannot help), nobody marked sent.
    await seedSubscribers(h.subscribers, [address(1), address(2), address(3)]);
    const summary = await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
    expect(summary.sent).toBe(0);
    expect(summary.complete).toBe(false);
    expect(summary.stopped?.message).toContain('does not offer STARTTLS');
    expect(h.events.filter((e) => e.event === 'run.paused')).toEqual([]);
    expect(seen).toEqual([]);

    // The same relay on loopback with the default (auto): clear text is allowed there.
    const local = await setup({ SMTP_URL: url });
    expect(await local.h.transport.send(local.message('reader@example.org'))).toMatchObject({ status: 'sent' });
    expect(seen).toEqual(['AUTH news@almanac.example:s3cret', 'MAIL newsletter@almanac.example', 'DATA']);
  });

  test('an unreachable server throws a TransportError naming the recipient, not in doubt', async () => {
    const server = await startSmtpServer();
    const url = server.url;
    await server.close();
    const { h, message } = await setup({ SMTP_URL: url });
    const error = await sendError(h.transport, message('ok@example.org'));
    expect(error.inDoubt).toBe(false);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toContain('ok@example.org');
    expect(error.cause).toBeInstanceOf(Error);
  });

  test('credentials in SMTP_URL are used to AUTH, percent-decoded', async () => {
    const logins: { username: string; password: string }[] = [];
    const received: string[] = [];
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true, // loopback only; a real relay offers STARTTLS first
      authMethods: ['PLAIN', 'LOGIN'],
      disableReverseLookup: true,
      logger: false,
      onAuth(auth, _session, cb) {
        logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
        if (auth.username === 'news@almanac.example' && auth.password === 'p@ss:w/rd') return cb(null, { user: auth.username });
        cb(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
      },
      onData(stream, session, cb) {
        stream.resume();
        stream.on('end', () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.server.address() as { port: number }).port;
    const { h, message } = await setup({ SMTP_URL: `smtp://news%40almanac.example:p%40ss%3Aw%2Frd@127.0.0.1:${port}` });
    expect(await h.transport.send(message('reader@example.org'))).toMatchObject({ status: 'sent' });
    expect(logins).toEqual([{ username: 'news@almanac.example', password: 'p@ss:w/rd' }]);
    expect(received).toEqual(['reader@example.org']);
  });

  test('DKIM signs the message, and the signed headers include List-Unsubscribe and List-Unsubscribe-Post', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const server = await startSmtpServer();
    const { h, message } = await setup(
      {
        DKIM_DOMAIN: 'almanac.example',
        DKIM_SELECTOR: 'news2026',
        DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      server,
    );
    expect(await h.transport.send(message('ok@example.org'))).toMatchObject({ status: 'sent' });
    const raw = server.messages[0]!.raw;
    const header = /^DKIM-Signature:(.*(?:\r\n[ \t].*)*)/im.exec(raw)?.[1]?.replace(/\r\n[ \t]/g, ' ');
    expect(header).toBeDefined();
    const tags = Object.fromEntries(header!.split(';').map((t) => t.trim().split('=')).map(([k, ...v]) => [k!.trim(), v.join('=').replace(/\s+/g, '')]));
    expect(tags.d).toBe('almanac.example');
    expect(tags.s).toBe('news2026');
    const signed = tags.h!.toLowerCase().split(':');
    for (const name of ['from', 'to', 'subject', 'date', 'message-id', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post']) {
      expect(signed).toContain(name);
    }
    expect(tags.b!.length).toBeGreaterThan(100);
  });

  test('DKIM: the signature is computed beside the envelope; copies refused or dropped are classified as unsigned ones are, and the end-of-data still waits for the sender', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const server = await startSmtpServer({
      onRcpt: (to) => (to.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user' } : to.startsWith('drop-rcpt') ? 'drop' : 'accept'),
      onData: (m) => (m.to[0]!.startsWith('drop-data') ? 'drop' : 'accept'),
    });
    const dkimEnv = { DKIM_DOMAIN: 'almanac.example', DKIM_SELECTOR: 'news2026', DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const { h, pieces } = await setup({ SMTP_MAX_CONNECTIONS: '2', ...dkimEnv }, server);
    // The end-of-data gate: nothing has arrived while the sender records the copy as in doubt.
    const seenAtGate: number[] = [];
    const gated = { ...pieces('gated@example.org'), beforeEndOfData: async () => {
      seenAtGate.push(server.messages.length);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } };
    expect(await h.transport.send(gated)).toMatchObject({ status: 'sent' });
    expect(seenAtGate).toEqual([0]);
    expect(await h.transport.send(pieces('nobody@example.org'))).toMatchObject({ status: 'bounced' });
    expect((await sendError(h.transport, pieces('drop-rcpt@example.org'))).inDoubt).toBe(false);
    const afterData = await sendError(h.transport, pieces('drop-data@example.org'));
    expect(afterData.inDoubt).toBe(true);
    const last = pieces('ok@example.org');
    expect(await h.transport.send(last)).toMatchObject({ status: 'sent' });
    expect(server.messages.map((m) => [m.to[0], !!m.dropped])).toEqual([
      ['gated@example.org', false],
      ['drop-data@example.org', true],
      ['ok@example.org', false],
    ]);
    // Signed, and the copy itself arrives byte for byte after its DKIM-Signature header.
    const raw = server.messages.at(-1)!.raw;
    expect(raw.startsWith('DKIM-Signature: v=1; a=rsa-sha256;')).toBe(true);
    expect(raw.endsWith(Buffer.concat(last.raw).toString('utf8'))).toBe(true);
  });

  test('a copy whose body fails mid-DATA (its end-of-data gate or its signature) is not in doubt, and its connection is not reused', async () => {
    const server = await startSmtpServer();
    const { h, pieces } = await setup({ SMTP_MAX_CONNECTIONS: '1' }, server);
    const failing = { ...pieces('gate-fails@example.org'), beforeEndOfData: () => Promise.reject(new Error('the ledger is gone')) };
    const error = await sendError(h.transport, failing);
    expect(error.inDoubt).toBe(false);
    const next = pieces('next@example.org');
    expect(await h.transport.send(next)).toMatchObject({ status: 'sent' });
    expect(server.messages.map((m) => m.to[0])).toEqual(['next@example.org']);
    expect(server.messages[0]!.raw).toBe(Buffer.concat(next.raw).toString('utf8'));
    expect(server.connectionsOpened()).toBe(2);
  }, 20_000);
});

describe('outbox transport (no SMTP_URL)', () => {
  test('writes one .eml per message under <outbox>/<edition-id>/, numbered, never overwriting', async () => {
    const { h, message } = await setup({});
    expect(h.transport.kind).toBe('outbox');
    for (const to of ['a@example.org', 'B+tag@Example.org']) expect(await h.transport.send(message(to))).toMatchObject({ status: 'sent' });
    // a second transport (a later run) continues the numbering
    const again = createTransport(h.config);
    await again.send(message('c@example.org'));
    const folder = join(h.config.outboxDir, h.edition.id);
    const files = readdirSync(folder).filter((f) => f.endsWith('.eml')).sort();
    expect(files).toEqual(['000001-a@example.org.eml', '000002-b+tag@example.org.eml', '000003-c@example.org.eml']);
    expect(readFileSync(join(folder, files[0]!), 'utf8')).toContain('To: a@example.org\r\n');
  });
});
