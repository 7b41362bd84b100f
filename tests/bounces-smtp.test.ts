import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, expect, test } from 'vitest';
import { startBounceListener, type BounceListener } from '../src/bounces/smtp-listener.ts';
import type { ProcessResult } from '../src/bounces/process.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import type { DialectName } from '../src/store/handle.ts';
import { loadSecret } from '../src/store/secret.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { startAlmanac } from './cli.ts';
import { EDITION_ID, copyRow, harness, seedSubscribers, subscriberNamed, type Harness } from './delivery-fixtures.ts';
import { freePort } from './helpers.ts';
import { describeEachDb } from './store-db.ts';

const ROOT = resolve(import.meta.dirname, '..');
let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** Sends one raw message over SMTP to the listener, as a remote MTA would (null sender). */
async function deliver(port: number, to: string[], raw: string): Promise<void> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'mx.example.org' });
  try {
    await client.sendMail({ envelope: { from: '', to }, raw });
  } finally {
    client.close();
  }
}

async function setup(dialect: DialectName, maxBytes?: number): Promise<{ h: Harness; listener: BounceListener; results: ProcessResult[]; bounceTo: string }> {
  const h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example' }, dialect);
  cleanup.push(() => h.close());
  await seedSubscribers(h.subscribers, ['gone@example.org', 'stays@example.org']);
  await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
  const results: ProcessResult[] = [];
  const listener = await startBounceListener(h.config, h.store, { port: 0, host: '127.0.0.1', maxBytes, onResult: (r) => results.push(r) });
  cleanup.push(() => listener.close());
  const gone = await subscriberNamed(h, 'gone@example.org');
  return { h, listener, results, bounceTo: verpEnvelopeSender(h.config, await loadSecret(h.store, h.config), EDITION_ID, gone.id) };
}

describeEachDb('almanac bounces serve (SMTP listener)', (dialect) => {
  test('a DSN delivered over SMTP to the VERP address bounces exactly that copy', async () => {
    const { h, listener, results, bounceTo } = await setup(dialect);
    const messageId = (await copyRow(h, EDITION_ID, (await subscriberNamed(h, 'gone@example.org')).id)).message_id;
    // The Exim text bounce names no tag in its headers' To here: the envelope recipient carries it.
    const raw = bounceFixture('exim-user-unknown', { to: 'bounces@bounces.almanac.example', rcpt: 'gone@example.org', messageId: '<unrelated@elsewhere.example>' });
    await deliver(listener.port, [bounceTo], raw);
    expect(results).toHaveLength(1);
    expect(results[0]!.line).toMatch(/changed: hard bounce 5\.1\.1 .*matched by VERP tag/);
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('bounced');
    expect((await subscriberNamed(h, 'stays@example.org')).status).toBe('active');
    expect(messageId).toMatch(/^<.+@almanac\.example>$/);
  });

  test('any other recipient gets 550 (never a relay); an oversized message gets 552; the bare bounce address changes nothing without a verified tag', async () => {
    const { h, listener, results, bounceTo } = await setup(dialect, 4096);
    const raw = bounceFixture('postfix-user-unknown', { to: bounceTo, rcpt: 'gone@example.org', messageId: '<x@y.example>' });
    await expect(deliver(listener.port, ['someone@example.com'], raw)).rejects.toMatchObject({ responseCode: 550 });
    await expect(deliver(listener.port, ['postmaster@bounces.almanac.example'], raw)).rejects.toMatchObject({ responseCode: 550 });
    const big = raw.replace('The week so far in AI.', 'x'.repeat(8000));
    await expect(deliver(listener.port, [bounceTo], big)).rejects.toMatchObject({ responseCode: 552 });
    expect(results).toHaveLength(0);
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('active');
    // The bare bounce address takes mail too (a feedback loop may write there), but without a verified
    // tag nothing changes, even when the report names the address and quotes the copy's Message-ID.
    const messageId = (await copyRow(h, EDITION_ID, (await subscriberNamed(h, 'gone@example.org')).id)).message_id!;
    for (const fixture of ['postfix-user-unknown', 'arf-abuse-complaint', 'qmail-no-mailbox']) {
      await deliver(listener.port, ['bounces@bounces.almanac.example'], bounceFixture(fixture, { to: 'bounces@bounces.almanac.example', rcpt: 'gone@example.org', messageId }));
    }
    expect(results.map((r) => r.outcome)).toEqual(['unverified', 'unverified', 'unverified']);
    for (const r of results) expect(r.line).not.toContain('gone@example.org');
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('active');
    // With the tag in the returned copy's headers, it changes.
    await deliver(listener.port, ['Bounces@bounces.almanac.example'], raw);
    expect(results[3]!.line).toMatch(/changed: hard bounce .*matched by VERP tag/);
  });

  test('`npm start` runs the listener when ALMANAC_BOUNCE_SMTP_PORT is set', async () => {
    const h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example' }, dialect);
    cleanup.push(() => h.close());
    await seedSubscribers(h.subscribers, ['gone@example.org']);
    await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
    const bounceTo = verpEnvelopeSender(h.config, await loadSecret(h.store, h.config), EDITION_ID, (await subscriberNamed(h, 'gone@example.org')).id);
    const [webPort, smtpPort] = [await freePort(), await freePort()];
    const start = await startAlmanac(
      ['start', '--port', String(webPort)],
      {
        ALMANAC_DB: h.config.dbPath,
        ALMANAC_CONTENT_DIR: h.contentDir,
        ALMANAC_OUTBOX: join(h.dir, 'outbox'),
        ALMANAC_SECRET: 'test-secret-0123456789abcdef',
        ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example',
        ALMANAC_BOUNCE_SMTP_PORT: String(smtpPort),
        ALMANAC_BOUNCE_SMTP_HOST: '127.0.0.1',
      },
      'bounces.listening',
      30_000,
    );
    cleanup.push(start.stop);
    await deliver(smtpPort, [bounceTo], bounceFixture('qmail-no-mailbox', { to: bounceTo, rcpt: 'gone@example.org', messageId: '<x@y.example>' }));
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('bounced');
    await start.stop();
    expect(start.output()).toContain('bounces.applied');
  }, 60_000);
});

describeEachDb('almanac bounces serve (child process)', (dialect) => {
  test('listens on --host/--port, prints one line per message, stops on SIGTERM; without ALMANAC_BOUNCE_ADDRESS it refuses to start', async () => {
    const h = await harness({ ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example' }, dialect);
    cleanup.push(() => h.close());
    await seedSubscribers(h.subscribers, ['gone@example.org']);
    await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
    const bounceTo = verpEnvelopeSender(h.config, await loadSecret(h.store, h.config), EDITION_ID, (await subscriberNamed(h, 'gone@example.org')).id);
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', ALMANAC_DB: h.config.dbPath, ALMANAC_SECRET: 'test-secret-0123456789abcdef' };
    const child = spawn(process.execPath, ['scripts/almanac.mjs', 'bounces', 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: { ...env, ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    cleanup.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    const start = Date.now();
    while (!output.includes('receiving mail')) {
      if (Date.now() - start > 30_000 || child.exitCode !== null) throw new Error(`bounces serve did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(output).toContain(`receiving mail for bounces@bounces.almanac.example on 127.0.0.1:${port}`);
    await deliver(port, [bounceTo], bounceFixture('yahoo-no-account', { to: bounceTo, rcpt: 'gone@example.org', messageId: '<x@y.example>' }));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/smtp #1 from 127\.0\.0\.1: changed: hard bounce .*\(yahoo: /);
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('bounced');

    const { execFile } = await import('node:child_process');
    const refused = await new Promise<{ code: number | null; stderr: string }>((r) =>
      execFile(process.execPath, ['scripts/almanac.mjs', 'bounces', 'serve', '--port', '0'], { cwd: ROOT, env }, (error, _out, stderr) =>
        r({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
      ),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('configuration error: ALMANAC_BOUNCE_ADDRESS');
  }, 60_000);
});
