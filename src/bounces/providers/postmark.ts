import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { BounceClass } from '../classify.ts';
import { statusIn } from '../patterns.ts';
import { WebhookError, type ProviderEvent } from './event.ts';

/** Checks HTTP basic auth against POSTMARK_WEBHOOK_AUTH (`user:pass`); throws WebhookError 401 otherwise. */
export function verifyPostmark(headers: IncomingHttpHeaders, expected: string): void {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(headers.authorization ?? '');
  const given = Buffer.from(m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '', 'utf8');
  const want = Buffer.from(expected, 'utf8');
  // Compare in constant time; a length difference is folded into the result, not returned early.
  const same = given.length === want.length && timingSafeEqual(given, want);
  if (!same) throw new WebhookError(401, 'Postmark webhook: wrong or missing basic auth');
}

/** Postmark bounce types (https://postmarkapp.com/developer/api/bounce-api#bounce-types) and what each means here. */
const BOUNCE_TYPES: Record<string, { class: BounceClass; why: string }> = {
  HardBounce: { class: 'hard', why: 'Postmark HardBounce: the address does not exist' },
  BadEmailAddress: { class: 'hard', why: 'Postmark BadEmailAddress' },
  ManuallyDeactivated: { class: 'hard', why: 'Postmark ManuallyDeactivated (the address is deactivated at Postmark)' },
  SoftBounce: { class: 'soft', why: 'Postmark SoftBounce (mailbox full or similar, given up)' },
  DnsError: { class: 'soft', why: 'Postmark DnsError (the domain did not resolve)' },
  SpamComplaint: { class: 'complaint', why: 'Postmark SpamComplaint' },
  Blocked: { class: 'failed', why: 'Postmark Blocked (refused by the receiver, not the address)' },
  DMARCPolicy: { class: 'failed', why: 'Postmark DMARCPolicy (our authentication, not the address)' },
  Transient: { class: 'ignored', why: 'Postmark Transient: a delay, Postmark is still retrying' },
  AutoResponder: { class: 'ignored', why: 'Postmark AutoResponder (an auto-reply)' },
};

/** What a Postmark webhook body (RecordType Bounce or SpamComplaint) means. */
export function postmarkEvent(body: unknown): ProviderEvent {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') throw new WebhookError(400, 'Postmark webhook: expected a JSON object');
  const recipient = typeof b.Email === 'string' ? b.Email : undefined;
  const diagnostic = [b.Description, b.Details].filter((x) => typeof x === 'string' && x).join(' ');
  const record = String(b.RecordType ?? '');
  if (record === 'SpamComplaint') return { class: 'complaint', why: 'Postmark SpamComplaint', recipient, status: 'complaint', diagnostic };
  if (record !== 'Bounce') return { class: 'ignored', why: `Postmark ${record || 'unknown'} record`, recipient };
  const type = String(b.Type ?? '');
  const known = BOUNCE_TYPES[type] ?? { class: 'ignored' as const, why: `Postmark bounce type ${type || 'unknown'}, not about the address` };
  return { ...known, recipient, status: known.class === 'complaint' ? 'complaint' : statusIn(diagnostic), diagnostic };
}
