import { createVerify, X509Certificate } from 'node:crypto';
import { get } from 'node:https';
import type { BounceClass } from '../classify.ts';
import { WebhookError, type ProviderEvent } from './event.ts';

/**
 * Amazon SES events through Amazon SNS. Each SNS message is signed; the certificate comes from its
 * SigningCertURL, which must be https on an Amazon SNS host (exactly sns.<region>.amazonaws.com, or
 * .amazonaws.com.cn in China) with no query, and must be issued to SNS (its subject's CN); a few are
 * cached. A message older than SNS_MAX_AGE_MS is refused. The topic must be one of SES_SNS_TOPIC_ARN:
 * a valid SNS signature only proves the message came through SNS, not that it came from our topic.
 */

/** Fetches a URL's body over https (the certificate, or a subscription confirmation). Injected in tests. */
export type SnsFetch = (url: string) => Promise<string>;

/** SNS messages older than this (by their signed Timestamp) are refused, so a captured one cannot be replayed later. @default 1 hour */
export const SNS_MAX_AGE_MS = 60 * 60_000;
/** A Timestamp this far ahead of our clock is still accepted (clock skew). @default 5 min */
const SNS_MAX_SKEW_MS = 5 * 60_000;
/** Signing certificates kept in memory; SNS uses one per region at a time. @default 16 */
export const SNS_CERTIFICATES_KEPT = 16;

/**
 * Only these hosts sign SNS messages and serve their certificates: `sns.` + a region name
 * (`us-east-1`, `eu-west-2`, `us-gov-west-1`, `cn-north-1`) + `.amazonaws.com`, or `.amazonaws.com.cn`
 * for a China region. Not any label: `sns.s3.amazonaws.com` is the S3 bucket "sns", which anyone can
 * create and fill with a certificate of their own.
 */
const SNS_HOST = /^sns\.([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.amazonaws\.com(\.cn)?$/;

/** True when a host name is an Amazon SNS endpoint (see SNS_HOST). */
export function isSnsHost(host: string): boolean {
  const m = SNS_HOST.exec(host);
  return m !== null && (m[2] === undefined) === !m[1]!.startsWith('cn-');
}

/** True when a URL is https on an Amazon SNS host, default port, no user (for SigningCertURL and SubscribeURL). */
export function isSnsUrl(url: unknown): url is string {
  if (typeof url !== 'string' || !URL.canParse(url)) return false;
  const u = new URL(url);
  return u.protocol === 'https:' && isSnsHost(u.hostname) && (u.port === '' || u.port === '443') && !u.username && !u.password;
}

/** True for a SigningCertURL: an SNS URL naming one `.pem` file, with no query or fragment. */
export function isSnsCertificateUrl(url: unknown): url is string {
  if (!isSnsUrl(url) || /[?#]/.test(url)) return false;
  return /^\/[A-Za-z0-9._-]+\.pem$/.test(new URL(url).pathname);
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

/** Fetched certificates by URL, oldest first (at most SNS_CERTIFICATES_KEPT; a failed fetch is not kept). */
const certificates = new Map<string, Promise<X509Certificate>>();

/**
 * The certificate at a SigningCertURL, fetched once per URL while it is among the last few used.
 * Its subject must be SNS's: AWS issues them to `sns.amazonaws.com` (or to the regional host itself).
 */
function certificate(url: string, fetch: SnsFetch): Promise<X509Certificate> {
  let cert = certificates.get(url);
  if (cert) {
    certificates.delete(url); // re-inserted below: the Map's order is the order of last use
  } else {
    cert = fetch(url).then((pem) => issuedToSns(url, pem));
    cert.catch(() => certificates.delete(url));
    if (certificates.size >= SNS_CERTIFICATES_KEPT) certificates.delete(certificates.keys().next().value!);
  }
  certificates.set(url, cert);
  return cert;
}

/** Parses the PEM and checks its subject's CN: `sns.amazonaws.com` or the host it was fetched from. */
function issuedToSns(url: string, pem: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new Error(`${url} did not return a certificate`);
  }
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn !== 'sns.amazonaws.com' && cn !== new URL(url).hostname) throw new Error(`the certificate at ${url} is not issued to Amazon SNS (CN ${JSON.stringify(cn ?? '')})`);
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

/** Verifies an SNS message (shape, topic, age, certificate URL and subject, signature); throws WebhookError 400/401/403 otherwise. */
export async function verifySns(body: unknown, topics: readonly string[], fetch: SnsFetch, now: number): Promise<SnsMessage> {
  const m = body as Partial<SnsMessage> | undefined;
  const strings = ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] as const;
  if (!m || typeof m !== 'object' || strings.some((k) => typeof m[k] !== 'string')) throw new WebhookError(400, 'not an Amazon SNS message');
  if (!['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'].includes(m.Type!)) throw new WebhookError(400, `unknown SNS message type ${m.Type}`);
  if (!topics.includes(m.TopicArn!)) throw new WebhookError(403, 'SNS topic is not one of SES_SNS_TOPIC_ARN');
  const sent = Date.parse(m.Timestamp!);
  if (!/^\d{4}-\d\d-\d\dT/.test(m.Timestamp!) || Number.isNaN(sent)) throw new WebhookError(400, 'SNS Timestamp is not an ISO 8601 time');
  if (now - sent > SNS_MAX_AGE_MS || sent - now > SNS_MAX_SKEW_MS) throw new WebhookError(401, 'SNS message is older than one hour (or dated in the future)');
  if (!isSnsCertificateUrl(m.SigningCertURL)) {
    throw new WebhookError(403, 'SigningCertURL is not an https Amazon SNS certificate URL (sns.<region>.amazonaws.com, one .pem file, no query)');
  }
  const algorithm = m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined;
  if (!algorithm) throw new WebhookError(401, `unknown SNS SignatureVersion ${m.SignatureVersion}`);
  let cert: X509Certificate;
  try {
    cert = await certificate(m.SigningCertURL, fetch);
  } catch (cause) {
    throw new WebhookError(401, `cannot use the SNS signing certificate: ${(cause as Error).message}`);
  }
  let ok = false;
  try {
    ok = createVerify(algorithm).update(snsStringToSign(m as SnsMessage), 'utf8').verify(cert.publicKey, m.Signature!, 'base64');
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
