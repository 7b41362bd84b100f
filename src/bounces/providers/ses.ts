import { createVerify } from 'node:crypto';
import { get } from 'node:https';
import type { BounceClass } from '../classify.ts';
import { WebhookError, type ProviderEvent } from './event.ts';

/**
 * Amazon SES events through Amazon SNS. Each SNS message is signed; the certificate comes from its
 * SigningCertURL, which must be https on an Amazon SNS host (sns.<region>.amazonaws.com), and is cached.
 * The topic must be one of SES_SNS_TOPIC_ARN: a valid SNS signature only proves the message came
 * through SNS, not that it came from our topic.
 */

/** Fetches a URL's body over https (the certificate, or a subscription confirmation). Injected in tests. */
export type SnsFetch = (url: string) => Promise<string>;

/** Only these hosts sign SNS messages and serve their certificates. */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** True when a URL is https on an Amazon SNS host (for SigningCertURL and SubscribeURL). */
export function isSnsUrl(url: unknown): url is string {
  if (typeof url !== 'string' || !URL.canParse(url)) return false;
  const u = new URL(url);
  return u.protocol === 'https:' && SNS_HOST.test(u.hostname) && (u.port === '' || u.port === '443') && !u.username && !u.password;
}

/** Plain https GET with a timeout and a size limit. */
export const httpsFetch: SnsFetch = (url) =>
  new Promise((resolve, reject) => {
    const req = get(url, { timeout: 10_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.length > 64 * 1024) req.destroy(new Error(`GET ${url}: response too large`));
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });

const certificates = new Map<string, Promise<string>>();

/** The certificate at a SigningCertURL, fetched once per URL (a failed fetch is not kept). */
function certificate(url: string, fetch: SnsFetch): Promise<string> {
  let cert = certificates.get(url);
  if (!cert) {
    cert = fetch(url).then((pem) => {
      if (!pem.includes('BEGIN CERTIFICATE')) throw new Error(`${url} did not return a certificate`);
      return pem;
    });
    cert.catch(() => certificates.delete(url));
    certificates.set(url, cert);
  }
  return cert;
}

/** An SNS message as posted to the endpoint. */
export interface SnsMessage {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
}

/** The text SNS signs: the listed fields, each as `Name\nvalue\n`, in this order (Subject only when present). */
export function snsStringToSign(m: SnsMessage): string {
  const keys =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys
    .filter((k) => (m as unknown as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${k}\n${(m as unknown as Record<string, unknown>)[k]}\n`)
    .join('');
}

/** Verifies an SNS message (shape, topic, certificate host, signature); throws WebhookError 400/401/403 otherwise. */
export async function verifySns(body: unknown, topics: readonly string[], fetch: SnsFetch): Promise<SnsMessage> {
  const m = body as Partial<SnsMessage> | undefined;
  const strings = ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] as const;
  if (!m || typeof m !== 'object' || strings.some((k) => typeof m[k] !== 'string')) throw new WebhookError(400, 'not an Amazon SNS message');
  if (!['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'].includes(m.Type!)) throw new WebhookError(400, `unknown SNS message type ${m.Type}`);
  if (!topics.includes(m.TopicArn!)) throw new WebhookError(403, 'SNS topic is not one of SES_SNS_TOPIC_ARN');
  if (!isSnsUrl(m.SigningCertURL) || !new URL(m.SigningCertURL).pathname.endsWith('.pem')) {
    throw new WebhookError(403, 'SigningCertURL is not an https Amazon SNS certificate URL');
  }
  const algorithm = m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined;
  if (!algorithm) throw new WebhookError(401, `unknown SNS SignatureVersion ${m.SignatureVersion}`);
  let pem: string;
  try {
    pem = await certificate(m.SigningCertURL, fetch);
  } catch (cause) {
    throw new WebhookError(401, `cannot fetch the SNS signing certificate: ${(cause as Error).message}`);
  }
  let ok = false;
  try {
    ok = createVerify(algorithm).update(snsStringToSign(m as SnsMessage), 'utf8').verify(pem, m.Signature!, 'base64');
  } catch {
    ok = false;
  }
  if (!ok) throw new WebhookError(401, 'SNS signature does not verify');
  return m as SnsMessage;
}

const PERMANENT: Record<string, { class: BounceClass; why: string }> = {
  General: { class: 'hard', why: 'SES Permanent/General bounce' },
  NoEmail: { class: 'hard', why: 'SES Permanent/NoEmail: the address does not exist' },
  Suppressed: { class: 'hard', why: 'SES Permanent/Suppressed: on the SES suppression list' },
  OnAccountSuppressionList: { class: 'hard', why: 'SES Permanent/OnAccountSuppressionList' },
  UnsubscribedRecipient: { class: 'hard', why: 'SES Permanent/UnsubscribedRecipient' },
  MessageTooLarge: { class: 'failed', why: 'SES Permanent/MessageTooLarge (the message, not the address)' },
  ContentRejected: { class: 'failed', why: 'SES Permanent/ContentRejected (the message, not the address)' },
  AttachmentRejected: { class: 'failed', why: 'SES Permanent/AttachmentRejected (the message, not the address)' },
};

/** The events in one SES notification (one per recipient): Bounce, Complaint, or anything else (ignored). */
export function sesEvents(message: string): ProviderEvent[] {
  let n: Record<string, any>; // SES JSON, read defensively below
  try {
    n = JSON.parse(message) as Record<string, any>;
  } catch {
    throw new WebhookError(400, 'the SNS Message is not SES JSON');
  }
  const type = String(n.notificationType ?? n.eventType ?? '');
  const mail = (n.mail ?? {}) as { source?: unknown; headers?: { name?: unknown; value?: unknown }[]; commonHeaders?: { messageId?: unknown } };
  const header = mail.headers?.find((h) => String(h.name).toLowerCase() === 'message-id')?.value ?? mail.commonHeaders?.messageId;
  const base = { envelopeSender: typeof mail.source === 'string' ? mail.source : undefined, messageId: typeof header === 'string' ? header : undefined };
  if (type === 'Bounce') {
    const b = n.bounce ?? {};
    const bounceType = String(b.bounceType ?? '');
    const subType = String(b.bounceSubType ?? '');
    const recipients = Array.isArray(b.bouncedRecipients) ? b.bouncedRecipients : [];
    const meaning =
      bounceType === 'Permanent'
        ? (PERMANENT[subType] ?? { class: 'hard' as const, why: `SES Permanent/${subType} bounce` })
        : bounceType === 'Transient'
          ? { class: 'soft' as const, why: `SES Transient/${subType} bounce (SES gave up)` }
          : { class: 'ignored' as const, why: `SES ${bounceType || 'unknown'} bounce type: nothing to conclude` };
    return recipients.map((r: { emailAddress?: unknown; status?: unknown; diagnosticCode?: unknown }) => ({
      ...base,
      ...meaning,
      recipient: typeof r.emailAddress === 'string' ? r.emailAddress : undefined,
      status: typeof r.status === 'string' ? r.status : undefined,
      diagnostic: typeof r.diagnosticCode === 'string' ? r.diagnosticCode : undefined,
    }));
  }
  if (type === 'Complaint') {
    const c = n.complaint ?? {};
    const feedback = typeof c.complaintFeedbackType === 'string' ? c.complaintFeedbackType : undefined;
    const recipients = Array.isArray(c.complainedRecipients) ? c.complainedRecipients : [];
    return recipients.map((r: { emailAddress?: unknown }) => ({
      ...base,
      recipient: typeof r.emailAddress === 'string' ? r.emailAddress : undefined,
      ...(feedback && feedback !== 'abuse'
        ? { class: 'ignored' as const, why: `SES complaint of type ${feedback}, not a spam complaint` }
        : { class: 'complaint' as const, why: 'SES complaint (marked as spam)', status: 'complaint', diagnostic: typeof c.userAgent === 'string' ? c.userAgent : undefined }),
    }));
  }
  return [{ ...base, class: 'ignored', why: `SES ${type || 'unknown'} notification`, recipient: undefined }];
}
