import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, test } from 'vitest';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { recipientLinks, Tokens } from '../src/subscribers/tokens.ts';
import { startWebServer } from '../src/web/start.ts';
import { almanac } from './cli.ts';
import { tempDir, testConfig } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { cleanUp, describeEachDb, freshTarget, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';
import { insertEditions } from './web-fixtures.ts';

const BASE = 'https://almanac.test';
const children: ChildProcess[] = [];
const smtps: TestSmtpServer[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  for (const smtp of smtps.splice(0)) await smtp.close();
});

/** `almanac serve` as an operator runs it on one host; resolves with its URL once it listens. */
async function serve(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['scripts/almanac.mjs', 'serve', '--host', '127.0.0.1', '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening: ${err}`)));
  });
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
  if (!url) throw new Error(`serve said: ${line}`);
  return url;
}

/** A link from an email, followed on the given server (the public base URL is the load balancer's). */
function on(origin: string, link: string): string {
  const url = new URL(link);
  return `${origin}${url.pathname}${url.search}`;
}

describeEachDb('two web servers on one database', (dialect) => {
  test('a subscription made on one is confirmed, changed and unsubscribed through the other; both share the secret, suppressions and archive', async () => {
    const smtp = await startSmtpServer();
    smtps.push(smtp);
    const target = await freshTarget(dialect);
    // No ALMANAC_SECRET: both servers start together on an empty database, migrate it and agree on one secret.
    const env = { ALMANAC_DB: target, ALMANAC_BASE_URL: BASE, SMTP_URL: smtp.url, ALMANAC_CONTENT_DIR: 'content', ALMANAC_OUTBOX: join(tempDir(), 'outbox') };
    const [a, b] = await Promise.all([serve(env), serve(env)]);
    const db = await openTracked(target);
    const store = new SubscriberStore(db);
    const tokens = new Tokens(await loadSecret(db, { secret: undefined }));

    // Subscribe on A; the confirmation link in the email is opened on B.
    const subscribed = await fetch(`${a}/subscribe`, { method: 'POST', body: new URLSearchParams({ email: 'reader@example.com', editions: 'midweek,sunday' }) });
    expect(subscribed.status).toBe(200);
    await subscribed.text();
    for (let i = 0; i < 200 && smtp.messages.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(smtp.messages).toHaveLength(1);
    const mail = await simpleParser(smtp.messages[0]!.raw);
    const confirmLink = /https:\/\/almanac\.test\/confirm\/[A-Za-z0-9_-]+/.exec(mail.text ?? '')![0];
    const pending = (await store.findByEmail('reader@example.com'))!;
    expect(pending.status).toBe('pending');

    const confirmed = await fetch(on(b, confirmLink));
    expect(confirmed.status).toBe(200);
    const page = await confirmed.text();
    expect(page).toContain('You are subscribed');
    expect(await store.get(pending.id)).toMatchObject({ status: 'active', midweek: true, sunday: true });

    // The preferences link B printed works on A: one Sunday-only choice.
    const preferences = /href="(\/preferences\/[A-Za-z0-9_-]+)"/.exec(page)![1]!;
    const saved = await fetch(`${a}${preferences}`, { method: 'POST', body: new URLSearchParams({ action: 'save', editions: 'sunday' }) });
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('Saved. You receive Sunday.');

    // One-click unsubscribe (the link the sender signs with the shared secret) through B, then A shows it done.
    const sunday = recipientLinks(BASE, tokens, pending.id, 'sunday').unsubscribeUrl;
    const oneClick = await fetch(on(b, sunday), { method: 'POST', body: new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }) });
    expect(oneClick.status).toBe(200);
    await oneClick.text();
    expect(await store.get(pending.id)).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });
    expect(await (await fetch(on(a, sunday))).text()).toContain('Already unsubscribed');

    // A suppression recorded by anyone (a bounce processed elsewhere) holds on both: asking again through
    // either server sends one confirmation between them (the other sees it was just sent), and the
    // address stays suppressed until it is confirmed.
    const bounced = (await store.add({ email: 'bounced@example.com', editions: ['midweek'] })).subscriber!;
    await store.suppress(bounced.id, 'bounced', '550 5.1.1 no such user');
    for (const origin of [a, b]) {
      const again = await fetch(`${origin}/subscribe`, { method: 'POST', body: new URLSearchParams({ email: 'bounced@example.com' }) });
      expect(again.status).toBe(200);
      await again.text();
    }

    // The archive a sender wrote is on both.
    await insertEditions(db, [['2026-11-22-sunday', 'sunday', 2, '2026-11-22T08:00:00.000Z', 'Sunday No. 2', 'The week', '<html><body>archived sunday</body></html>', 'sent']]);
    for (const origin of [a, b]) {
      expect(await (await fetch(`${origin}/archive/2026-11-22-sunday`)).text()).toBe('<html><body>archived sunday</body></html>');
      expect(await (await fetch(`${origin}/feed.xml`)).text()).toContain(`${BASE}/archive/2026-11-22-sunday`);
      expect(await (await fetch(`${origin}/healthz`)).json()).toMatchObject({ ok: true, db: 'ok' });
    }
    for (let i = 0; i < 200 && smtp.messages.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.messages.map((m) => m.to)).toEqual([['reader@example.com'], ['bounced@example.com']]);
    expect(await store.get(bounced.id)).toMatchObject({ status: 'pending' });
    expect(await store.isSuppressed('bounced@example.com')).toBe(true);
  });
});

test('serve with an unreachable PostgreSQL: one line naming ALMANAC_DB, never the password, exit 2', async () => {
  const result = await almanac(['serve', '--port', '0', '--host', '127.0.0.1'], { ALMANAC_DB: 'postgres://almanac:pw-s3rve-42@127.0.0.1:1/almanac?sslmode=disable' });
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toContain('ALMANAC_DB: cannot connect to PostgreSQL at postgres://almanac:***@127.0.0.1:1/almanac?sslmode=disable: connect ECONNREFUSED');
  expect(result.stderr).not.toContain('pw-s3rve-42');
});

describe.skipIf(!PG_URL)(`backups with pg_dump${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  afterEach(cleanUp);

  test('pg_dump -Fc of a live database restores with pg_restore into one that serves the same subscribers and links', async () => {
    const source = await freshTarget('postgres');
    expect((await almanac(['subscribers', 'add', 'kept@example.com', '--editions', 'sunday'], { ALMANAC_DB: source })).code).toBe(0);
    const original = await openTracked(source);
    const secret = await loadSecret(original, { secret: undefined });
    const dump = join(tempDir(), 'almanac.dump');
    const run = promisify(execFile);
    await run('pg_dump', ['--format=custom', `--file=${dump}`, `--dbname=${source}`]);
    const restored = await freshTarget('postgres');
    await run('pg_restore', ['--no-owner', `--dbname=${restored}`, dump]);
    const exported = await almanac(['subscribers', 'export', '--format', 'json'], { ALMANAC_DB: restored });
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout).subscribers).toMatchObject([{ email: 'kept@example.com', editions: ['sunday'], status: 'active' }]);
    // The signing secret came along: links in emails sent before the backup still work after a restore.
    expect(await loadSecret(await openTracked(restored), { secret: undefined })).toBe(secret);
  });
});

describe.skipIf(!PG_URL)(`a web server whose PostgreSQL goes away${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  afterEach(cleanUp);

  test('/healthz answers 503 "database unavailable", never the driver\'s text; pages that need no database still answer', async () => {
    const target = await freshTarget('postgres');
    const web = await startWebServer(testConfig({ ALMANAC_DB: target, ALMANAC_SECRET: 'test-secret-of-enough-length', ALMANAC_OUTBOX: join(tempDir(), 'outbox') }), {
      port: 0,
      host: '127.0.0.1',
      contentDir: 'content',
    });
    try {
      const origin = web.url;
      expect((await fetch(`${origin}/healthz`)).status).toBe(200);
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE ${new URL(target).pathname.slice(1)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      const health = await fetch(`${origin}/healthz`);
      expect(health.status).toBe(503);
      const text = await health.text();
      const body = JSON.parse(text) as { ok: boolean; db: string };
      expect(body.ok).toBe(false);
      expect(body.db).toBe('database unavailable');
      // Nothing of the driver's message (which names the database, and can name the host, port and user) reaches a stranger.
      const pgUrl = new URL(target);
      for (const internal of [pgUrl.pathname.slice(1), pgUrl.port, pgUrl.username, 'does not exist', 'terminat']) expect(text).not.toContain(internal);
      expect((await fetch(`${origin}/subscribe`)).status).toBe(200);
    } finally {
      await web.close();
    }
  });
});
