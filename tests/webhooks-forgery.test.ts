import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SNS_CERTIFICATES_KEPT, snsStringToSign, type SnsMessage } from '../src/bounces/providers/ses.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { createWebServer } from '../src/web/server.ts';
import type { Transport } from '../src/delivery/transport.ts';
import { tempDir, testConfig } from './helpers.ts';
import { describeEachDb, freshStore, freshTarget } from './store-db.ts';

// Items 7 and 8 of issue 23: a used Mailgun signature is never accepted again (whatever the split of
// its signed text, on any host, after any restart), and an SNS message is believed only when its
// certificate comes from an SNS host, is issued to SNS, and the message is recent.

const MAILGUN_KEY = 'key-mailgun-test-0123456789abcdef';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:almanac-ses';
const VICTIM = 'victim@example.org';
/** The fixed instant of the in-process servers' clock. */
const T0 = Date.parse('2026-11-26T10:00:00Z');

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Test signing keys with self-signed certificates: one issued to SNS as AWS issues them, one to the host, one to a stranger. */
const certs: Record<'sns' | 'regional' | 'stranger', { key: string; cert: string }> = {} as never;
beforeAll(() => {
  const dir = tempDir('almanac-sns-');
  for (const [name, cn] of [['sns', 'sns.amazonaws.com'], ['regional', 'sns.eu-west-1.amazonaws.com'], ['stranger', 'attacker.example']] as const) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' });
    certs[name] = { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.pem`), 'utf8') };
  }
});

/** Distinct certificate URLs per test: the server caches certificates per process. */
let urls = 0;
function certUrl(host = 'sns.eu-west-1.amazonaws.com', suffix = ''): string {
  return `https://${host}/SimpleNotificationService-${(++urls).toString(16).padStart(8, '0')}${randomBytes(4).toString('hex')}.pem${suffix}`;
}

interface Site {
  store: Store;
  url: string;
  clock: { now: number };
  /** URLs the server fetched. */
  fetched: string[];
  /** What each certificate URL serves (default: the SNS-issued test certificate, as an attacker's S3 bucket would serve their own). */
  serves: Map<string, string>;
  status: () => Promise<string>;
  post: (path: string, body: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;
}

async function site(dialect: DialectName = 'sqlite'): Promise<Site> {
  const { store, target } = await freshStore(dialect);
  const config = testConfig({ ALMANAC_DB: target, ALMANAC_SECRET: 'test-secret-0123456789abcdef', MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY, SES_SNS_TOPIC_ARN: TOPIC });
  const subscribers = new SubscriberStore(store);
  await subscribers.importOne({ email: VICTIM, editions: ['midweek', 'sunday'] });
  const clock = { now: T0 };
  const fetched: string[] = [];
  const serves = new Map<string, string>();
  const transport = { send: async () => { throw new Error('no mail here'); }, close: async () => {} } as unknown as Transport;
  const server: Server = await createWebServer({
    config,
    store,
    transport,
    contentDir: '.',
    log: () => {},
    clock: () => new Date(clock.now),
    fetchSns: async (url) => {
      fetched.push(url);
      return serves.get(url) ?? certs.sns.cert;
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    store,
    url,
    clock,
    fetched,
    serves,
    status: async () => (await subscribers.findByEmail(VICTIM))!.status,
    post: (path, body) => postJson(`${url}${path}`, body),
  };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A Mailgun webhook body signed with the key over `timestamp + token`, as Mailgun signs it. */
function mailgunBody(eventData: Record<string, unknown>, timestamp: string, token: string, signature?: string) {
  return { signature: { timestamp, token, signature: signature ?? createHmac('sha256', MAILGUN_KEY).update(timestamp + token).digest('hex') }, 'event-data': eventData };
}

const DELIVERED = { event: 'delivered', recipient: 'someone@example.org', message: { headers: {} } };
const COMPLAINED = { event: 'complained', recipient: VICTIM, message: { headers: {} } };

describeEachDb('Mailgun signatures', (dialect) => {
  test('a used signature cannot be replayed with its timestamp and token split differently (a token starting "e0")', async () => {
    const s = await site(dialect);
    const timestamp = String(Math.floor(T0 / 1000));
    const token = `e0${randomBytes(24).toString('hex')}`;
    const first = mailgunBody(DELIVERED, timestamp, token);
    expect(await s.post('/webhooks/mailgun', first)).toEqual({ status: 200, json: { received: 1, changed: 0, unchanged: 0, ignored: 1 } });
    // The same signed text, "<timestamp>e0" + "<48 hex>": Number("1795600800e0") is the same time, and the token is "new".
    const shifted = mailgunBody(COMPLAINED, `${timestamp}e0`, token.slice(2), first.signature.signature);
    const refused = await s.post('/webhooks/mailgun', shifted);
    expect(refused.status).toBe(401);
    expect(refused.json.error).toMatch(/malformed/);
    expect(await s.status()).toBe('active');
    // Other shapes that are not Mailgun's: refused before any HMAC.
    for (const [ts, tok] of [[`${timestamp}.0`, randomBytes(25).toString('hex')], [timestamp, randomBytes(24).toString('hex')], [timestamp, `${randomBytes(24).toString('hex')}zz`], [` ${timestamp}`, randomBytes(25).toString('hex')]] as const) {
      expect((await s.post('/webhooks/mailgun', mailgunBody(COMPLAINED, ts, tok))).status, `${ts} ${tok}`).toBe(401);
    }
    expect(await s.status()).toBe('active');
  });

  test('the replay cache is kept in the database: entries past their signature\'s lifetime are pruned', async () => {
    const s = await site(dialect);
    const at = () => String(Math.floor(s.clock.now / 1000));
    for (let i = 0; i < 3; i++) expect((await s.post('/webhooks/mailgun', mailgunBody(DELIVERED, at(), randomBytes(25).toString('hex')))).status).toBe(200);
    const rows = () => s.store.db.selectFrom('webhook_nonces').selectAll().execute();
    expect((await rows()).map((r) => r.provider)).toEqual(['mailgun', 'mailgun', 'mailgun']);
    s.clock.now += 16 * 60_000; // past the 15 minutes a Mailgun signature is accepted
    const token = randomBytes(25).toString('hex');
    expect((await s.post('/webhooks/mailgun', mailgunBody(DELIVERED, at(), token))).status).toBe(200);
    expect((await rows()).map((r) => r.nonce)).toEqual([token]);
  });

  test('a replay to another host, or to the same database after a restart, is refused', async () => {
    const target = await freshTarget(dialect);
    const env = { ALMANAC_DB: target, ALMANAC_SECRET: 'test-secret-0123456789abcdef', MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY, ALMANAC_CONTENT_DIR: 'content', ALMANAC_OUTBOX: join(tempDir(), 'outbox') };
    // Signed "now" by the real clock: these servers run as an operator runs them (the test holds on any day).
    const body = mailgunBody(DELIVERED, String(Math.floor(Date.now() / 1000)), randomBytes(25).toString('hex'));
    const first = await serve(env);
    expect((await postJson(`${first}/webhooks/mailgun`, body)).status).toBe(200);
    const second = await serve(env); // another host on the same database, or the same one restarted
    const replay = await postJson(`${second}/webhooks/mailgun`, body);
    expect(replay).toEqual({ status: 401, json: { error: 'Mailgun signature token already used (a replayed request)' } });
  }, 60_000);
});

/** `almanac serve` as a separate process; resolves with its URL. */
async function serve(env: Record<string, string>): Promise<string> {
  const child: ChildProcess = spawn(process.execPath, ['scripts/almanac.mjs', 'serve', '--host', '127.0.0.1', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening: ${err}`)));
  });
  return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
}

/** An SNS Notification signed with `key` (SignatureVersion 2), saying SES bounced the victim. */
function snsBounce(at: number, certificateUrl: string, key = certs.sns.key): SnsMessage {
  const message = JSON.stringify({
    notificationType: 'Bounce',
    bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: VICTIM, status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }], timestamp: new Date(at).toISOString() },
    mail: { source: 'bounces@almanac.example', destination: [VICTIM] },
  });
  const m: SnsMessage = { Type: 'Notification', MessageId: `msg-${randomBytes(6).toString('hex')}`, TopicArn: TOPIC, Message: message, Timestamp: new Date(at).toISOString(), SignatureVersion: '2', Signature: '', SigningCertURL: certificateUrl };
  m.Signature = createSign('RSA-SHA256').update(snsStringToSign(m)).sign(key, 'base64');
  return m;
}

describe('SES through SNS', () => {
  test('the certificate comes only from exactly sns.<region>.amazonaws.com, one .pem file, no query: an S3 bucket named "sns" is refused', async () => {
    const s = await site();
    const refused = [
      certUrl('sns.s3.amazonaws.com'), // the S3 bucket "sns" (legacy global endpoint): anyone can create it
      certUrl('sns.s3-eu-west-1.amazonaws.com'),
      certUrl('sns.eu-west-1.amazonaws.com', '?x=1'),
      certUrl('sns.eu-west-1.amazonaws.com', '#x'),
      certUrl('sns.eu-west-1.amazonaws.com.cn'), // a .cn endpoint is only for a China region
      certUrl('sns.cn-north-1.amazonaws.com'),
      certUrl('sns.eu-west-1.amazonaws.com:8443'),
      'https://sns.eu-west-1.amazonaws.com/folder/SimpleNotificationService-1.pem',
    ];
    for (const url of refused) {
      const res = await s.post('/webhooks/ses', snsBounce(T0, url));
      expect(res.status, url).toBe(403);
    }
    expect(s.fetched).toEqual([]);
    expect(await s.status()).toBe('active');
    // The real shapes are accepted: a region, and a China region on .amazonaws.com.cn.
    expect(await s.post('/webhooks/ses', snsBounce(T0, certUrl('sns.cn-north-1.amazonaws.com.cn')))).toMatchObject({ status: 200, json: { received: 1 } });
  });

  test('the certificate must be issued to Amazon SNS (its CN), even on an SNS host', async () => {
    const s = await site();
    const strangers = certUrl();
    s.serves.set(strangers, certs.stranger.cert);
    const refused = await s.post('/webhooks/ses', snsBounce(T0, strangers, certs.stranger.key));
    expect(refused.status).toBe(401);
    expect(refused.json.error).toMatch(/not issued to Amazon SNS/);
    expect(await s.status()).toBe('active');
    const regional = certUrl('sns.eu-west-1.amazonaws.com');
    s.serves.set(regional, certs.regional.cert);
    expect(await s.post('/webhooks/ses', snsBounce(T0, regional, certs.regional.key))).toMatchObject({ status: 200, json: { received: 1 } });
  });

  test('a message older than one hour (or dated ahead) is refused', async () => {
    const s = await site();
    for (const at of [T0 - 61 * 60_000, T0 + 10 * 60_000]) {
      const res = await s.post('/webhooks/ses', snsBounce(at, certUrl()));
      expect(res.status).toBe(401);
      expect(res.json.error).toMatch(/older than one hour/);
    }
    expect(await s.status()).toBe('active');
    expect(await s.post('/webhooks/ses', snsBounce(T0 - 59 * 60_000, certUrl()))).toMatchObject({ status: 200, json: { received: 1 } });
  });

  test('the certificate cache is bounded: past its size the least recently used certificate is fetched again', async () => {
    const s = await site();
    const first = certUrl();
    const ignored = JSON.stringify({ notificationType: 'Delivery', mail: {} });
    const delivery = (url: string) => {
      const m: SnsMessage = { Type: 'Notification', MessageId: `msg-${randomBytes(6).toString('hex')}`, TopicArn: TOPIC, Message: ignored, Timestamp: new Date(T0).toISOString(), SignatureVersion: '2', Signature: '', SigningCertURL: url };
      m.Signature = createSign('RSA-SHA256').update(snsStringToSign(m)).sign(certs.sns.key, 'base64');
      return m;
    };
    expect((await s.post('/webhooks/ses', delivery(first))).status).toBe(200);
    expect((await s.post('/webhooks/ses', delivery(first))).status).toBe(200);
    expect(s.fetched.filter((u) => u === first)).toHaveLength(1); // cached
    for (let i = 0; i < SNS_CERTIFICATES_KEPT; i++) expect((await s.post('/webhooks/ses', delivery(certUrl()))).status).toBe(200);
    expect((await s.post('/webhooks/ses', delivery(first))).status).toBe(200);
    expect(s.fetched.filter((u) => u === first)).toHaveLength(2); // it had been let go
    expect(new Set(s.fetched).size).toBe(SNS_CERTIFICATES_KEPT + 1);
  });
});
