import { execFileSync } from 'node:child_process';
import { createHmac, createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { snsStringToSign, type SnsMessage } from '../src/bounces/providers/ses.ts';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import type { DialectName } from '../src/store/handle.ts';
import { loadSecret } from '../src/store/secret.ts';
import { createWebServer } from '../src/web/server.ts';
import { EDITION_ID, copyRow, harness, seedSubscribers, subscriberNamed, type Harness } from './delivery-fixtures.ts';
import { tempDir } from './helpers.ts';
import { describeEachDb } from './store-db.ts';

const MAILGUN_KEY = 'key-mailgun-test-0123456789abcdef';
const POSTMARK_AUTH = 'almanac:postmark-test-password';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:almanac-ses';
/** The signing certificate's URL; one per database run, since the server caches certificates per process. */
let CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** A test signing key and its self-signed certificate, standing in for Amazon's (supplied through the injected fetcher). */
let snsKey: string;
let snsCert: string;
beforeAll(() => {
  const dir = tempDir('almanac-sns-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=sns.amazonaws.com'], { stdio: 'ignore' });
  snsKey = readFileSync(join(dir, 'key.pem'), 'utf8');
  snsCert = readFileSync(join(dir, 'cert.pem'), 'utf8');
});

interface Site {
  h: Harness;
  url: string;
  fetched: string[];
  logs: string[];
  status: (email: string) => Promise<string>;
  post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<{ status: number; json: Record<string, unknown> }>;
}

async function site(dialect: DialectName): Promise<Site> {
  CERT_URL = `https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${dialect}-0123456789abcdef.pem`;
  const h = await harness({
    ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example',
    MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
    POSTMARK_WEBHOOK_AUTH: POSTMARK_AUTH,
    SES_SNS_TOPIC_ARN: TOPIC,
  }, dialect);
  cleanup.push(() => h.close());
  await seedSubscribers(h.subscribers, ['mg-hard@example.org', 'mg-complaint@example.org', 'pm-hard@example.org', 'pm-complaint@example.org', 'ses-hard@example.org', 'ses-complaint@example.org', 'stays@example.org']);
  await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
  const fetched: string[] = [];
  const logs: string[] = [];
  const server: Server = await createWebServer({
    config: h.config,
    store: h.store,
    transport: h.transport,
    contentDir: h.contentDir,
    log: (line) => logs.push(line),
    fetchSns: async (url) => {
      fetched.push(url);
      return url === CERT_URL ? snsCert : 'ok';
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    h,
    url,
    fetched,
    logs,
    status: async (email) => (await subscriberNamed(h, email)).status,
    post: async (path, body, headers = {}) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
  };
}

async function copyOf(h: Harness, email: string): Promise<{ envelopeSender: string; messageId: string }> {
  const s = await subscriberNamed(h, email);
  const row = await copyRow(h, EDITION_ID, s.id);
  return { envelopeSender: verpEnvelopeSender(h.config, await loadSecret(h.store, h.config), EDITION_ID, s.id), messageId: row.message_id! };
}

async function snapshot(h: Harness): Promise<unknown> {
  return [
    await h.store.db.selectFrom('subscribers').selectAll().orderBy('id').execute(),
    await h.store.db.selectFrom('deliveries').selectAll().orderBy('subscriber_id').execute(),
  ];
}

/** A Mailgun webhook body signed as Mailgun signs it. */
function mailgunBody(eventData: Record<string, unknown>, options: { key?: string; timestamp?: number; token?: string } = {}) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const token = options.token ?? randomBytes(25).toString('hex');
  const signature = createHmac('sha256', options.key ?? MAILGUN_KEY).update(timestamp + token).digest('hex');
  return { signature: { timestamp, token, signature }, 'event-data': eventData };
}

async function mailgunFailed(h: Harness, email: string) {
  const copy = await copyOf(h, email);
  return {
    event: 'failed',
    severity: 'permanent',
    reason: 'bounce',
    recipient: email,
    envelope: { sender: copy.envelopeSender, targets: email },
    message: { headers: { 'message-id': copy.messageId.slice(1, -1), subject: 'Midweek' } },
    'delivery-status': { code: 550, message: '5.1.1 The email account that you tried to reach does not exist.', description: '' },
  };
}

/** An SNS message signed with the test key (SignatureVersion 2, SHA-256). */
function snsMessage(type: SnsMessage['Type'], message: string, extra: Partial<SnsMessage> = {}): SnsMessage {
  const m: SnsMessage = {
    Type: type,
    MessageId: `msg-${randomBytes(6).toString('hex')}`,
    TopicArn: TOPIC,
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '2',
    Signature: '',
    SigningCertURL: CERT_URL,
    ...(type === 'SubscriptionConfirmation' ? { SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=t', Token: 't0k3n' } : {}),
    ...extra,
  };
  m.Signature = createSign('RSA-SHA256').update(snsStringToSign(m)).sign(snsKey, 'base64');
  return m;
}

async function sesBounce(h: Harness, email: string): Promise<string> {
  const copy = await copyOf(h, email);
  return JSON.stringify({
    notificationType: 'Bounce',
    bounce: {
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: email, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
      timestamp: new Date().toISOString(),
      feedbackId: '0100018c-test',
    },
    mail: { source: copy.envelopeSender, messageId: '0100018c-ses-id', destination: [email], headers: [{ name: 'Message-ID', value: copy.messageId }] },
  });
}

describeEachDb('POST /webhooks/mailgun', (dialect) => {
  test('a signed failed event bounces the copy; bad, old or replayed signatures are refused and change nothing', async () => {
    const s = await site(dialect);
    const before = await snapshot(s.h);
    expect((await s.post('/webhooks/mailgun', mailgunBody(await mailgunFailed(s.h, 'mg-hard@example.org'), { key: 'key-wrong-0123456789' }))).status).toBe(401);
    expect((await s.post('/webhooks/mailgun', mailgunBody(await mailgunFailed(s.h, 'mg-hard@example.org'), { timestamp: Math.floor(Date.now() / 1000) - 3600 }))).status).toBe(401);
    const tampered = mailgunBody(await mailgunFailed(s.h, 'mg-hard@example.org'));
    tampered.signature.timestamp = String(Number(tampered.signature.timestamp) + 1);
    expect((await s.post('/webhooks/mailgun', tampered)).status).toBe(401);
    expect((await s.post('/webhooks/mailgun', { 'event-data': await mailgunFailed(s.h, 'mg-hard@example.org') })).status).toBe(401);
    expect(await snapshot(s.h)).toEqual(before);

    const good = mailgunBody(await mailgunFailed(s.h, 'mg-hard@example.org'));
    const accepted = await s.post('/webhooks/mailgun', good);
    expect(accepted).toEqual({ status: 200, json: { received: 1, changed: 1, unchanged: 0, ignored: 0 } });
    expect(await s.status('mg-hard@example.org')).toBe('bounced');
    expect((await s.post('/webhooks/mailgun', good)).status).toBe(401); // the same request again: a replay

    const complaint = { event: 'complained', recipient: 'mg-complaint@example.org', envelope: { sender: (await copyOf(s.h, 'mg-complaint@example.org')).envelopeSender }, message: { headers: {} } };
    expect((await s.post('/webhooks/mailgun', mailgunBody(complaint))).json).toMatchObject({ changed: 1 });
    expect(await s.status('mg-complaint@example.org')).toBe('complained');
    const delivered = { event: 'delivered', recipient: 'stays@example.org', message: { headers: {} } };
    expect((await s.post('/webhooks/mailgun', mailgunBody(delivered))).json).toMatchObject({ ignored: 1 });
    expect(await s.status('stays@example.org')).toBe('active');
    expect(s.logs).toContain('webhook mailgun: 1 event(s): 0 changed, 0 already known, 1 ignored (Mailgun delivered event)');
    expect(s.logs.some((l) => l.includes('refused (401): Mailgun signature timestamp is too old'))).toBe(true);
    expect(s.logs.filter((l) => l.includes('@'))).toEqual([]); // the web server's log never names anyone
  });
});

describeEachDb('POST /webhooks/postmark', (dialect) => {
  test('basic auth is required; HardBounce and SpamComplaint records apply', async () => {
    const s = await site(dialect);
    const bounce = { RecordType: 'Bounce', Type: 'HardBounce', TypeCode: 1, MessageID: '883953f4-6105-42a2-a16a-77a8eac79483', Email: 'pm-hard@example.org', Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).', Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.', BouncedAt: new Date().toISOString() };
    const basic = (auth: string) => ({ authorization: `Basic ${Buffer.from(auth).toString('base64')}` });
    const before = await snapshot(s.h);
    const none = await s.post('/webhooks/postmark', bounce);
    expect(none.status).toBe(401);
    expect((await s.post('/webhooks/postmark', bounce, basic('almanac:wrong'))).status).toBe(401);
    expect((await s.post('/webhooks/postmark', bounce, basic(`${POSTMARK_AUTH}x`))).status).toBe(401);
    expect(await snapshot(s.h)).toEqual(before);

    expect((await s.post('/webhooks/postmark', bounce, basic(POSTMARK_AUTH))).json).toMatchObject({ changed: 1 });
    expect(await s.status('pm-hard@example.org')).toBe('bounced');
    const row = await copyRow(s.h, EDITION_ID, (await subscriberNamed(s.h, 'pm-hard@example.org')).id);
    expect({ state: row.state, late_status: row.late_status, late_source: row.late_source }).toEqual({ state: 'bounced', late_status: '5.1.1', late_source: 'postmark' });
    const complaint = { RecordType: 'SpamComplaint', Type: 'SpamComplaint', Email: 'pm-complaint@example.org', BouncedAt: new Date().toISOString() };
    expect((await s.post('/webhooks/postmark', complaint, basic(POSTMARK_AUTH))).json).toMatchObject({ changed: 1 });
    expect(await s.status('pm-complaint@example.org')).toBe('complained');
  });
});

describeEachDb('POST /webhooks/ses (Amazon SNS)', (dialect) => {
  test('confirms the subscription, applies signed bounces and complaints, refuses bad signatures, foreign hosts and other topics', async () => {
    const s = await site(dialect);
    const confirm = await s.post('/webhooks/ses', snsMessage('SubscriptionConfirmation', 'You have chosen to subscribe to the topic.'));
    expect(confirm).toEqual({ status: 200, json: { confirmed: TOPIC } });
    expect(s.fetched).toEqual([CERT_URL, 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=t']);

    const before = await snapshot(s.h);
    const forged = snsMessage('Notification', await sesBounce(s.h, 'ses-hard@example.org'));
    forged.Message = forged.Message.replace('ses-hard', 'stays');
    expect((await s.post('/webhooks/ses', forged)).status).toBe(401);
    const foreign = snsMessage('Notification', await sesBounce(s.h, 'ses-hard@example.org'), { SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem' });
    expect((await s.post('/webhooks/ses', foreign)).status).toBe(403);
    const plain = snsMessage('Notification', await sesBounce(s.h, 'ses-hard@example.org'), { SigningCertURL: CERT_URL.replace('https:', 'http:') });
    expect((await s.post('/webhooks/ses', plain)).status).toBe(403);
    const otherTopic = snsMessage('Notification', await sesBounce(s.h, 'ses-hard@example.org'), { TopicArn: 'arn:aws:sns:eu-west-1:999999999999:someone-else' });
    expect((await s.post('/webhooks/ses', otherTopic)).status).toBe(403);
    expect(await snapshot(s.h)).toEqual(before);
    expect(s.fetched).toHaveLength(2); // the certificate was cached; no foreign URL was fetched

    expect((await s.post('/webhooks/ses', snsMessage('Notification', await sesBounce(s.h, 'ses-hard@example.org')))).json).toMatchObject({ changed: 1 });
    expect(await s.status('ses-hard@example.org')).toBe('bounced');
    const complaint = JSON.stringify({
      notificationType: 'Complaint',
      complaint: { complainedRecipients: [{ emailAddress: 'ses-complaint@example.org' }], complaintFeedbackType: 'abuse', timestamp: new Date().toISOString() },
      mail: { source: (await copyOf(s.h, 'ses-complaint@example.org')).envelopeSender, destination: ['ses-complaint@example.org'] },
    });
    expect((await s.post('/webhooks/ses', snsMessage('Notification', complaint, { SignatureVersion: '1', Signature: '' }))).status).toBe(401);
    expect((await s.post('/webhooks/ses', snsMessage('Notification', complaint))).json).toMatchObject({ changed: 1 });
    expect(await s.status('ses-complaint@example.org')).toBe('complained');
    expect(await s.status('stays@example.org')).toBe('active');
  });

  test('unconfigured providers refuse every request', async () => {
    const h = await harness();
    cleanup.push(() => h.close());
    const server = await createWebServer({ config: h.config, store: h.store, transport: h.transport, contentDir: h.contentDir, log: () => {} });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const path of ['/webhooks/mailgun', '/webhooks/postmark', '/webhooks/ses']) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status, path).toBe(403);
    }
  });
});
