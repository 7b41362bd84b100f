import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterEach, describe, expect, test } from 'vitest';
import { MAX_BOUNCE_BYTES, MAX_RECIPIENTS, MAX_SESSIONS_PER_CLIENT, MAX_TAGS_PER_MESSAGE } from '../src/bounces/limits.ts';
import { BounceProcessor } from '../src/bounces/process.ts';
import { startBounceListener } from '../src/bounces/smtp-listener.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { loadSecret } from '../src/store/secret.ts';
import { bounceFixture } from './bounces-fixtures.ts';
import { startAlmanac } from './cli.ts';
import { EDITION_ID, harness, seedSubscribers, subscriberNamed, type Harness } from './delivery-fixtures.ts';
import { freePort, testConfig } from './helpers.ts';
import { describeEachDb, freshTarget, openTracked, PG_URL } from './store-db.ts';

const BOUNCE = 'bounces@bounces.almanac.example';
const SECRET = 'test-secret-0123456789abcdef'; // the harness's

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** Sends one raw message over SMTP, as a remote MTA would (null sender), from `localAddress`. */
async function deliver(port: number, to: string[], raw: string, localAddress = '127.0.0.1'): Promise<void> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'mx.example.org', localAddress, socketTimeout: 120_000 });
  try {
    await client.sendMail({ envelope: { from: '', to }, raw });
  } finally {
    client.close();
  }
}

/** A raw SMTP conversation from `localAddress`: the greeting, then one reply per command. */
class RawSession {
  private buffer = '';
  private waiting: ((reply: string) => void)[] = [];
  private replies: string[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      let m: RegExpExecArray | null;
      // A reply ends with a line "NNN text" (continuation lines are "NNN-text").
      while ((m = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(this.buffer))) {
        this.buffer = this.buffer.slice(m[0].length);
        const waiter = this.waiting.shift();
        if (waiter) waiter(m[0].trim());
        else this.replies.push(m[0].trim());
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w('(closed)');
    });
    socket.on('error', () => {});
  }

  static open(port: number, localAddress: string): RawSession {
    const session = new RawSession(connect({ port, host: '127.0.0.1', localAddress }));
    cleanup.push(() => void session.socket.destroy());
    return session;
  }

  /** The next reply from the server (the greeting first). */
  reply(): Promise<string> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closed) return Promise.resolve('(closed)');
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }
}

/** A child process of the CLI, stopped after the test; resolves once `ready` appears in its output. */
async function startCli(args: string[], env: Record<string, string>, ready: string) {
  const cli = await startAlmanac(args, env, ready);
  cleanup.push(cli.stop);
  return cli;
}

/** A harness with one copy of the Midweek edition sent to gone@example.org, and its VERP address. */
async function sentCopy(): Promise<{ h: Harness; bounceTo: string }> {
  const h = await harness({ ALMANAC_BOUNCE_ADDRESS: BOUNCE });
  cleanup.push(() => h.close());
  await seedSubscribers(h.subscribers, ['gone@example.org']);
  await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
  const gone = await subscriberNamed(h, 'gone@example.org');
  return { h, bounceTo: verpEnvelopeSender(h.config, await loadSecret(h.store, h.config), EDITION_ID, gone.id) };
}

/** A DSN for `to` whose returned copy is padded with text to exactly `size` bytes. */
function paddedBounce(to: string, size: number): string {
  const raw = bounceFixture('postfix-user-unknown', { to, rcpt: 'gone@example.org', messageId: '<x@elsewhere.example>' });
  const marker = 'The week so far in AI.';
  const room = size - (raw.length - marker.length);
  let filler = '';
  while (filler.length < room) filler += `${randomBytes(57).toString('base64')}\r\n`;
  return raw.replace(marker, filler.slice(0, room));
}

/** The peak resident memory of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return Math.round(kb / 1024);
}

describe('the bounce listener is bounded', () => {
  test('30 concurrent maximum-size messages from 30 clients keep `bounces serve` under 300 MB; larger ones get 552', async () => {
    const { h, bounceTo } = await sentCopy();
    const port = await freePort();
    const serve = await startCli(['bounces', 'serve', '--port', String(port), '--host', '127.0.0.1'], { ALMANAC_DB: h.config.dbPath, ALMANAC_SECRET: SECRET, ALMANAC_BOUNCE_ADDRESS: BOUNCE }, 'receiving mail');
    const clients = Array.from({ length: 30 }, (_, i) => `127.0.0.${10 + i}`);

    const largest = paddedBounce(bounceTo, MAX_BOUNCE_BYTES);
    expect(Buffer.byteLength(largest)).toBe(MAX_BOUNCE_BYTES);
    await Promise.all(clients.map((from) => deliver(port, [bounceTo], largest, from)));
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('bounced');
    expect(serve.output().match(/: changed: hard bounce/g)).toHaveLength(1);
    expect(serve.output().match(/: unchanged: /g)).toHaveLength(29);

    const tooLarge = paddedBounce(bounceTo, 2 * 1024 * 1024);
    const refused = await Promise.allSettled(clients.map((from) => deliver(port, [bounceTo], tooLarge, from)));
    for (const r of refused) expect(r).toMatchObject({ status: 'rejected', reason: { responseCode: 552 } });

    const peak = peakRssMb(serve.child.pid!);
    console.log(`bounces serve: peak RSS ${peak} MB after 30 concurrent messages of ${MAX_BOUNCE_BYTES} bytes and 30 of 2 MB`);
    expect(peak).toBeLessThan(300);
  }, 180_000);

  test('idle sessions from one address do not shut out another; a session ends after its length; recipients are capped', async () => {
    const { h } = await sentCopy();
    const maxSessionMs = 6000;
    const listener = await startBounceListener(h.config, h.store, { port: 0, host: '127.0.0.1', maxSessionMs });
    cleanup.push(() => listener.close());

    const hogs = Array.from({ length: 50 }, () => RawSession.open(listener.port, '127.0.0.1'));
    const greetings = await Promise.all(hogs.map((s) => s.reply()));
    const openedAt = Date.now();
    expect(greetings.filter((g) => g.startsWith('220 '))).toHaveLength(MAX_SESSIONS_PER_CLIENT);
    expect(greetings.filter((g) => g.startsWith('421 '))).toHaveLength(50 - MAX_SESSIONS_PER_CLIENT);
    expect(greetings.find((g) => g.startsWith('421 '))).toMatch(/too many sessions from your address/);

    // Another client still gets its 220, and at most MAX_RECIPIENTS recipients per message.
    const other = RawSession.open(listener.port, '127.0.0.2');
    expect(await other.reply()).toMatch(/^220 /);
    expect(await other.command('EHLO mx.example.org')).toMatch(/^250/);
    expect(await other.command('MAIL FROM:<>')).toMatch(/^250/);
    for (let i = 0; i < MAX_RECIPIENTS; i++) expect(await other.command(`RCPT TO:<bounces+t${i}@bounces.almanac.example>`)).toMatch(/^250/);
    expect(await other.command('RCPT TO:<bounces+toomany@bounces.almanac.example>')).toMatch(/^452 /);
    other.socket.destroy();

    // The admitted sessions are ended after maxSessionMs, whether idle or busy (one keeps talking).
    const admitted = hogs.filter((_, i) => greetings[i]!.startsWith('220 '));
    const talker = setInterval(() => admitted[0]!.socket.write('NOOP\r\n'), 300);
    try {
      const ends = await Promise.all(
        admitted.map(async (s) => {
          let r: string;
          while (!(r = await s.reply()).startsWith('421') && r !== '(closed)');
          return { reply: r, after: Date.now() - openedAt };
        }),
      );
      for (const end of ends) {
        expect(end.reply).toMatch(/^421 .*session too long/);
        expect(end.after).toBeGreaterThan(maxSessionMs - 1500);
      }
    } finally {
      clearInterval(talker);
    }
    const again = RawSession.open(listener.port, '127.0.0.1');
    expect(await again.reply()).toMatch(/^220 /);
  }, 120_000);
});

describe('one message cannot freeze `npm start`', () => {
  test('only the first few tags of a message count: the envelope\'s first, then the text\'s', async () => {
    const { h, bounceTo } = await sentCopy();
    const processor = await BounceProcessor.open(h.store, h.config);
    const tag = /\+([a-z2-7]{32})@/.exec(bounceTo)![1]!;
    const forged = Array.from({ length: 30 }, (_, i) => `bounces+forged${i}@bounces.almanac.example`);
    const raw = (tags: string[]) => bounceFixture('postfix-user-unknown', { to: BOUNCE, rcpt: 'gone@example.org', messageId: '<x@elsewhere.example>' }).replace('The week so far in AI.', tags.join('\r\n'));

    const enveloped = await processor.analyse({ name: 'a', raw: raw(forged), envelopeTo: [bounceTo] });
    expect(enveloped.keys.tags).toEqual([tag, 'forged0', 'forged1', 'forged2']);
    expect(enveloped.keys.tags).toHaveLength(MAX_TAGS_PER_MESSAGE);

    // The real tag after the first few forged ones is never read: nothing changes.
    const buried = await processor.processOne({ name: 'b', raw: raw([...forged.slice(0, MAX_TAGS_PER_MESSAGE), bounceTo]) });
    expect(buried.outcome).toBe('unverified');
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('active');
    expect((await processor.processOne({ name: 'c', raw: raw(forged), envelopeTo: [bounceTo] })).outcome).toBe('changed');
  });

  test('/healthz keeps answering while the listener takes a maximum-size message stuffed with distinct tags and recipients', async () => {
    const { h } = await sentCopy();
    const [webPort, smtpPort] = [await freePort(), await freePort()];
    const start = await startCli(
      ['start', '--port', String(webPort)],
      {
        ALMANAC_DB: h.config.dbPath,
        ALMANAC_HOST: '127.0.0.1',
        ALMANAC_CONTENT_DIR: h.contentDir,
        ALMANAC_OUTBOX: join(h.dir, 'outbox'),
        ALMANAC_SECRET: SECRET,
        ALMANAC_BOUNCE_ADDRESS: BOUNCE,
        ALMANAC_BOUNCE_SMTP_PORT: String(smtpPort),
        ALMANAC_BOUNCE_SMTP_HOST: '127.0.0.1',
      },
      'bounces.listening',
    );
    const health = async () => {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${webPort}/healthz`, { signal: AbortSignal.timeout(60_000) });
      await res.text();
      return { status: res.status, ms: performance.now() - t0 };
    };
    for (let i = 0; (await health().catch(() => ({ status: 0 }))).status !== 200; i++) {
      if (i > 200) throw new Error(`the web server did not answer:\n${start.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Forged: no tag verifies. About 13,000 distinct tags, the most a message of the maximum size holds.
    const head = `From: MAILER-DAEMON@mx.example.org\r\nTo: ${BOUNCE}\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: Wed, 25 Nov 2026 07:00:00 +0000\r\nX-Failed-Recipients: gone@example.org\r\n\r\n`;
    let body = '';
    for (let i = 0; head.length + body.length < MAX_BOUNCE_BYTES - 100; i++) body += `bounces+${i.toString(36)}x@bounces.almanac.example\r\n`;
    const envelope = Array.from({ length: MAX_RECIPIENTS }, (_, i) => `bounces+${randomBytes(20).toString('hex')}@bounces.almanac.example`);

    const latencies: number[] = [];
    let delivering = true;
    const poll = (async () => {
      while (delivering) {
        latencies.push((await health()).ms);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const t0 = performance.now();
    try {
      await deliver(smtpPort, envelope, head + body);
    } finally {
      delivering = false;
      await poll;
    }
    const took = Math.round(performance.now() - t0);
    const worst = Math.round(Math.max(...latencies));
    console.log(`npm start: a ${head.length + body.length}-byte message with ${body.split('\n').length - 1} distinct tags took ${took} ms; /healthz answered ${latencies.length} times, at worst in ${worst} ms`);
    // The bound is 1 s; the machine running the tests is shared and loaded, so allow 2.5 s
    // (before, the same message blocked the event loop for several seconds).
    expect(worst).toBeLessThan(2500);

    // Counted and logged as unverified, naming nobody.
    const applied = start.output().split('\n').find((l) => l.includes('"bounces.applied"'))!;
    expect(applied).toContain('"outcome":"unverified"');
    expect(applied).not.toContain('gone@example.org');
    expect((await subscriberNamed(h, 'gone@example.org')).status).toBe('active');
  }, 120_000);
});

describeEachDb('the bounce listener when the database is unavailable', (dialect) => {
  test('answers 451 "database unavailable", never the driver\'s words, and tells the operator the cause', async () => {
    const target = await freshTarget(dialect);
    const store = await openTracked(target);
    const config = testConfig({ ALMANAC_DB: target, ALMANAC_BOUNCE_ADDRESS: BOUNCE, ALMANAC_SECRET: SECRET });
    const errors: string[] = [];
    const listener = await startBounceListener(config, store, { port: 0, host: '127.0.0.1', onError: (e) => errors.push(String((e as Error).message)) });
    cleanup.push(() => listener.close());
    let name = '';
    if (dialect === 'postgres') {
      // The database goes away under the running listener (its pool's connections are ended too).
      name = new URL(target).pathname.slice(1);
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    } else {
      await store.close();
    }
    const raw = bounceFixture('postfix-user-unknown', { to: BOUNCE, rcpt: 'gone@example.org', messageId: '<x@elsewhere.example>' });
    const refused = await deliver(listener.port, ['bounces+abc@bounces.almanac.example'], raw).then(
      () => undefined,
      (e: { responseCode?: number; response?: string }) => e,
    );
    expect(refused?.responseCode).toBe(451);
    expect(refused?.response).toMatch(/^451 4\.3\.0 database unavailable, try again later$/);
    expect(errors).toHaveLength(1);
    if (dialect === 'postgres') {
      const u = new URL(PG_URL!);
      expect(errors[0]).toContain(name); // the operator hears the cause
      for (const secret of [name, u.port, u.username, u.hostname]) expect(refused?.response).not.toContain(secret);
    }
  }, 60_000);
});
