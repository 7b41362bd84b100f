import { ImapFlow } from 'imapflow';
import { afterEach, expect, test } from 'vitest';
import { startImapPoller } from '../src/bounces/imap.ts';
import type { ProcessResult } from '../src/bounces/process.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { memoryLogger } from '../src/log.ts';
import { loadSecret } from '../src/store/secret.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { almanac } from './cli.ts';
import { EDITION_ID, copyRow, harness, seedSubscribers, subscriberNamed, type Harness } from './delivery-fixtures.ts';
import { startDovecot, type TestImapServer } from './dovecot.ts';
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
