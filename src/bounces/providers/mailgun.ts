import { createHmac, timingSafeEqual } from 'node:crypto';
import { classifyFailure } from '../classify.ts';
import { statusIn } from '../patterns.ts';
import { WebhookError, type ProviderEvent } from './event.ts';

/** Mailgun signatures older (or further in the future) than this are refused. @default 15 min */
export const MAILGUN_MAX_AGE_MS = 15 * 60_000;

/** Mailgun's documented formats: `timestamp` is Unix seconds in decimal digits, `token` 50 hexadecimal characters. */
const TIMESTAMP = /^[0-9]{1,12}$/;
const TOKEN = /^[0-9a-f]{50}$/i;

/** A verified Mailgun request: its event data, and the token to record until the signature expires (the replay check). */
export interface VerifiedMailgun {
  data: Record<string, unknown>;
  /** Lower-case; record it until `expiresAt` and refuse it when seen again. */
  token: string;
  expiresAt: Date;
}

/**
 * Verifies a Mailgun webhook body (`{ signature: { timestamp, token, signature }, "event-data": … }`):
 * timestamp and token in their documented formats, HMAC-SHA256 of timestamp + token with the signing
 * key, a timestamp within MAILGUN_MAX_AGE_MS. Throws WebhookError 401 otherwise. The signed text is the
 * two values run together, so without the formats a used signature would verify again with characters
 * moved from the token into the timestamp (`1700000000` + `e0…` read as `1700000000e0` + `…`): a new
 * token. The caller refuses a token already seen (claimNonce).
 */
export function verifyMailgun(body: unknown, signingKey: string, now: number): VerifiedMailgun {
  const b = body as { signature?: { timestamp?: unknown; token?: unknown; signature?: unknown }; 'event-data'?: unknown } | undefined;
  const s = b?.signature;
  if (!s || typeof s.timestamp !== 'string' || typeof s.token !== 'string' || typeof s.signature !== 'string') {
    throw new WebhookError(401, 'missing Mailgun signature (signature.timestamp, token, signature)');
  }
  if (!TIMESTAMP.test(s.timestamp) || !TOKEN.test(s.token)) {
    throw new WebhookError(401, 'Mailgun signature is malformed (timestamp: decimal seconds; token: 50 hexadecimal characters)');
  }
  const expected = createHmac('sha256', signingKey).update(s.timestamp + s.token).digest();
  const given = Buffer.from(/^[0-9a-f]{64}$/i.test(s.signature) ? s.signature : '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new WebhookError(401, 'Mailgun signature does not verify');
  const at = Number(s.timestamp) * 1000;
  if (Math.abs(now - at) > MAILGUN_MAX_AGE_MS) throw new WebhookError(401, 'Mailgun signature timestamp is too old (or in the future)');
  const data = b['event-data'];
  if (!data || typeof data !== 'object') throw new WebhookError(400, 'no event-data in the Mailgun webhook');
  return { data: data as Record<string, unknown>, token: s.token.toLowerCase(), expiresAt: new Date(at + MAILGUN_MAX_AGE_MS) };
}

/** What a Mailgun event (failed / complained / anything else) means. */
export function mailgunEvent(data: Record<string, unknown>): ProviderEvent {
  const event = String(data.event ?? '');
  const recipient = typeof data.recipient === 'string' ? data.recipient : undefined;
  const headers = (data.message as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
  const messageId = typeof headers['message-id'] === 'string' ? headers['message-id'] : undefined;
  const envelopeSender = typeof (data.envelope as { sender?: unknown } | undefined)?.sender === 'string' ? ((data.envelope as { sender: string }).sender) : undefined;
  const base = { recipient, messageId, envelopeSender };
  if (event === 'complained') return { ...base, class: 'complaint', why: 'Mailgun complained event (marked as spam)', status: 'complaint' };
  if (event !== 'failed') return { ...base, class: 'ignored', why: `Mailgun ${event || 'unknown'} event` };
  const severity = String(data.severity ?? '');
  const reason = String(data.reason ?? '');
  const ds = (data['delivery-status'] ?? {}) as { code?: unknown; message?: unknown; description?: unknown };
  const diagnostic = [ds.code, ds.message || ds.description].filter((x) => x !== undefined && x !== '').join(' ');
  if (severity === 'temporary') return { ...base, class: 'ignored', why: 'Mailgun temporary failure: Mailgun is still retrying', diagnostic };
  if (reason === 'suppress-complaint') return { ...base, class: 'complaint', why: 'Mailgun: the address complained before', status: 'complaint', diagnostic };
  if (reason === 'suppress-bounce') return { ...base, class: 'hard', why: 'Mailgun: the address bounced before (on its bounce list)', status: '5.1.1', diagnostic };
  const code = typeof ds.code === 'number' ? ds.code : Number(ds.code);
  const c = classifyFailure(statusIn(diagnostic) ?? (code >= 500 ? '5.0.0' : code >= 400 ? '4.0.0' : '5.0.0'), diagnostic);
  return { ...base, class: c.class, why: `Mailgun permanent failure: ${c.why}`, status: c.status, diagnostic };
}
