import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, test } from 'vitest';
import { imapSecurity, imapTarget, startImapPoller } from '../src/bounces/imap.ts';
import { MAX_BOUNCE_BYTES } from '../src/bounces/limits.ts';
import { isLoopback } from '../src/delivery/loopback.ts';
import type { ProcessResult } from '../src/bounces/process.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { memoryLogger } from '../src/log.ts';
import { loadSecret } from '../src/store/secret.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { almanac } from './cli.ts';
import { EDITION_ID, copyRow, harness, seedSubscribers, subscriberNamed, type Harness } from './delivery-fixtures.ts';
import { startDovecot, type TestImapServer } from './dovecot.ts';
import { tempDir } from './helpers.ts';
import { skipReason, titled } from './services.ts';
import { describeEachDb } from './store-db.ts';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function mailbox(imap: TestImapServer): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port: imap.port, secure: false, auth: { user: imap.user, pass: imap.pass }, logger: false });
  await client.connect();
  cleanup.push(() => client.logout().catch(() => client.close()));
  return client;
}

async function bounceFor(h: Harness, fixture: string, email: string): Promise<string> {
  const s = await subscriberNamed(h, email);
  const messageId = (await copyRow(h, EDITION_ID, s.id)).message_id!;
  return bounceFixture(fixture, { to: verpEnvelopeSender(h.config, await loadSecret(h.store, h.config), EDITION_ID, s.id), rcpt: email, messageId });
}

describeEachDb('almanac bounces fetch (IMAP, against a real Dovecot)', (dialect) => {
  test('handles the unseen messages, marks them seen (not-mail also flagged), and a second fetch finds nothing new', async () => {
    const imap = await startDovecot();
    cleanup.push(() => imap.stop());
    const h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example', ALMANAC_BOUNCE_IMAP_URL: imap.url }, dialect);
    cleanup.push(() => h.close());
    await seedSubscribers(h.subscribers, ['gone@example.org', 'away@example.org', 'stays@example.org']);
    await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });

    const client = await mailbox(imap);
    await client.append('INBOX', await bounceFor(h, 'microsoft365-recipient-not-found', 'gone@example.org'));
    await client.append('INBOX', await bounceFor(h, 'outlook-automatic-reply', 'away@example.org'));
    await client.append('INBOX', 'just some bytes, not a message\r\n');
    await client.append('INBOX', await bounceFor(h, 'postfix-user-unknown', 'stays@example.org'), ['\\Seen']); // already handled by someone

    const env = { PATH: process.env.PATH ?? '', ALMANAC_DB: h.config.dbPath, ALMANAC_SECRET: 'test-secret-0123456789abcdef', ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example', ALMANAC_BOUNCE_IMAP_URL: imap.url };
    const first = await almanac(['bounces', 'fetch'], env);
    expect(first.code, first.stderr).toBe(1); // one message was not mail
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^imap uid 1: changed: hard bounce 5\.1\.10 .*matched by VERP tag/);
    expect(lines[1]).toMatch(/^imap uid 2: ignored: auto-reply/);
    expect(lines[2]).toMatch(/^imap uid 3: not a message/);
    expect(first.stderr).not.toContain(imap.pass);
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('bounced');
    expect((await subscriberNamed(h, 'stays@example.org')).status).toBe('active');

    const lock = await client.getMailboxLock('INBOX');
    try {
      const flags = new Map<number, string[]>();
      for await (const m of client.fetch('1:*', { uid: true, flags: true }, { uid: true })) flags.set(m.uid, [...(m.flags ?? [])].sort());
      expect(Object.fromEntries(flags)).toEqual({ 1: ['\\Seen'], 2: ['\\Seen'], 3: ['\\Flagged', '\\Seen'], 4: ['\\Seen'] });
    } finally {
      lock.release();
    }

    const second = await almanac(['bounces', 'fetch'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain('0 unseen message(s) handled');

    // The poller `npm start` runs reads new mail as it comes.
    await client.append('INBOX', await bounceFor(h, 'qmail-no-mailbox', 'away@example.org'));
    const results: ProcessResult[] = [];
    const log = memoryLogger();
    const poller = startImapPoller(h.config, h.store, { onResult: (r) => results.push(r), log });
    const start = Date.now();
    while (results.length === 0 && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 50));
    await poller.stop();
    expect(results.map((r) => r.line)).toEqual([expect.stringMatching(/^changed: hard bounce 5\.1\.1 .*qmail/)]);
    expect((await subscriberNamed(h, 'away@example.org')).status).toBe('bounced');
    expect(log.events.filter((e) => e.event === 'bounces.imap.failed')).toEqual([]);
  }, 60_000);

  test('a wrong password is a clear error that does not print it', async () => {
    const imap = await startDovecot();
    cleanup.push(() => imap.stop());
    const h = await harness({}, dialect);
    cleanup.push(() => h.close());
    const url = imap.url.replace(imap.pass, 'wrong-password-123');
    const run = await almanac(['bounces', 'fetch'], { PATH: process.env.PATH ?? '', ALMANAC_DB: h.config.dbPath, ALMANAC_BOUNCE_IMAP_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot log in to the bounce mailbox at 127.0.0.1:${imap.port} as bounces`);
    expect(run.stderr).not.toContain('wrong-password-123');
  }, 60_000);
}, 'dovecot');

/** A name of this machine that is not a loopback address itself but resolves to 127.0.0.1 (where the test Dovecot listens): its host name, usually. */
async function nameForLoopback(): Promise<string | undefined> {
  const name = hostname();
  if (isLoopback(name)) return undefined;
  const addresses = await lookup(name, { all: true }).catch(() => []);
  return addresses.length > 0 && addresses.every((a) => a.address === '127.0.0.1') ? name : undefined;
}
const alias = await nameForLoopback();
const ALIAS_SKIP = alias ? '' : ` (skipped: this machine's host name ${hostname()} does not resolve to 127.0.0.1 only, so no server here looks remote)`;

/** A self-signed certificate for imap.test (openssl). */
function selfSigned(): { cert: string; key: string } {
  const dir = tempDir('almanac-cert-');
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=imap.test'], { stdio: 'ignore' });
  return { cert, key };
}

const fetchEnv = (h: Harness, url: string) => ({ PATH: process.env.PATH ?? '', ALMANAC_DB: h.config.dbPath, ALMANAC_SECRET: 'test-secret-0123456789abcdef', ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example', ALMANAC_BOUNCE_IMAP_URL: url });
const logins = (imap: TestImapServer) => readFileSync(imap.log, 'utf8').match(/imap-login: (?:Info: )?Login: user=<bounces>/g)?.length ?? 0;

const DOVECOT_SKIP = skipReason('dovecot');

describe('IMAP follows the SMTP rule: which hosts get TLS and a certificate check', () => {
  test.each([
    { host: '127.0.0.1', secure: false, expected: { doSTARTTLS: undefined, rejectUnauthorized: false } },
    { host: '127.9.8.7', secure: false, expected: { doSTARTTLS: undefined, rejectUnauthorized: false } },
    { host: 'localhost', secure: false, expected: { doSTARTTLS: undefined, rejectUnauthorized: false } },
    { host: '::1', secure: false, expected: { doSTARTTLS: undefined, rejectUnauthorized: false } },
    { host: '127.attacker.example', secure: false, expected: { doSTARTTLS: true, rejectUnauthorized: true } },
    { host: '127.0.0.1.attacker.example', secure: false, expected: { doSTARTTLS: true, rejectUnauthorized: true } },
    { host: 'imap.example.com', secure: false, expected: { doSTARTTLS: true, rejectUnauthorized: true } },
    { host: 'imap.example.com', secure: true, expected: { doSTARTTLS: undefined, rejectUnauthorized: true } },
  ])('$host (imaps: $secure): $expected', ({ host, secure, expected }) => {
    expect(imapSecurity({ host, secure })).toEqual(expected);
    expect(imapSecurity(imapTarget(`${secure ? 'imaps' : 'imap'}://u:p@${host.includes(':') ? `[${host}]` : host}/INBOX`))).toEqual(expected);
  });
});

describe.skipIf(DOVECOT_SKIP)(titled('IMAP follows the SMTP rule', DOVECOT_SKIP), () => {
  test.skipIf(!alias)(`a server that is not on loopback and offers no STARTTLS never gets the password${ALIAS_SKIP}`, async () => {
    const imap = await startDovecot();
    cleanup.push(() => imap.stop());
    const h = await harness({});
    cleanup.push(() => h.close());
    const run = await almanac(['bounces', 'fetch'], fetchEnv(h, imap.url.replace('127.0.0.1', alias!)));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the bounce mailbox at ${alias}:${imap.port} did not start TLS, and it is not on this machine's loopback: refusing to send the password in clear`);
    expect(run.stderr).not.toContain(imap.pass);
    expect(readFileSync(imap.log, 'utf8')).toMatch(/imap-login: (Info: )?Disconnected[^\n]*no auth attempts/);
    expect(logins(imap)).toBe(0);
  }, 60_000);

  test.skipIf(!alias)(`its certificate is checked unless it is on a loopback address${ALIAS_SKIP}`, async () => {
    const imap = await startDovecot({ tls: selfSigned() });
    cleanup.push(() => imap.stop());
    const h = await harness({});
    cleanup.push(() => h.close());
    const remote = await almanac(['bounces', 'fetch'], fetchEnv(h, imap.url.replace('127.0.0.1', alias!)));
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain(`cannot log in to the bounce mailbox at ${alias}:${imap.port}`);
    expect(remote.stderr).toMatch(/self[- ]signed certificate/);
    expect(logins(imap)).toBe(0);

    const local = await almanac(['bounces', 'fetch'], fetchEnv(h, imap.url));
    expect(local.code, local.stderr).toBe(0);
    expect(logins(imap)).toBe(1);
    expect(readFileSync(imap.log, 'utf8')).toMatch(/Login: user=<bounces>.*TLS/);
  }, 60_000);

  test('a message over the size limit is skipped by its size, never downloaded, and flagged', async () => {
    const imap = await startDovecot();
    cleanup.push(() => imap.stop());
    const h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example', ALMANAC_BOUNCE_IMAP_URL: imap.url });
    cleanup.push(() => h.close());
    await seedSubscribers(h.subscribers, ['gone@example.org', 'big@example.org']);
    await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });

    const client = await mailbox(imap);
    const huge = (await bounceFor(h, 'postfix-user-unknown', 'big@example.org')).replace('The week so far in AI.', `${'x'.repeat(76)}\r\n`.repeat(40_000));
    expect(huge.length).toBeGreaterThan(3 * MAX_BOUNCE_BYTES);
    await client.append('INBOX', huge);
    await client.append('INBOX', await bounceFor(h, 'postfix-user-unknown', 'gone@example.org'));

    const run = await almanac(['bounces', 'fetch'], fetchEnv(h, imap.url));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`imap uid 1: too large (${Buffer.byteLength(huge)} bytes; a bounce is at most ${MAX_BOUNCE_BYTES} bytes): skipped, nothing changed`);
    expect(run.stdout).toMatch(/imap uid 2: changed: hard bounce/);
    expect(run.stderr).toContain('2 unseen message(s) handled, 0 unverified, 0 not mail (flagged), 1 too large (flagged, not downloaded)');
    expect((await subscriberNamed(h, 'big@example.org')).status).toBe('active');
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('bounced');

    // Dovecot's own count of the bytes it sent in that session: far less than the big message.
    const sessions = [...readFileSync(imap.log, 'utf8').matchAll(/Logged out in=\d+ out=(\d+)/g)].map((m) => Number(m[1]));
    expect(sessions.length).toBeGreaterThan(0);
    expect(Math.max(...sessions)).toBeLessThan(MAX_BOUNCE_BYTES);

    const lock = await client.getMailboxLock('INBOX');
    try {
      const flags = new Map<number, string[]>();
      for await (const m of client.fetch('1:*', { uid: true, flags: true }, { uid: true })) flags.set(m.uid, [...(m.flags ?? [])].sort());
      expect(Object.fromEntries(flags)).toEqual({ 1: ['\\Flagged', '\\Seen'], 2: ['\\Seen'] });
    } finally {
      lock.release();
    }
  }, 60_000);
});
