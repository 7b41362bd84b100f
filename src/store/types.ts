import type { Kind } from '../config.ts';
import type { ConsentSource } from '../subscribers/consent.ts';

// The store's domain types. They are the same shapes as the synchronous store's
// (src/subscribers/store.ts, src/delivery/ledger.ts), so callers switch by changing imports only.

export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced' | 'complained';

/** Every status, in display order. */
export const STATUSES: readonly SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced', 'complained'];

/** Why and when a subscriber agreed to receive the newsletter. */
export interface Consent {
  source: ConsentSource | null;
  ip: string | null;
  /** Version of the wording shown, e.g. `v1-2026-11`. */
  wording: string | null;
  requestedAt: string | null;
  confirmedAt: string | null;
}

export interface Subscriber {
  id: number;
  email: string;
  name: string | null;
  status: SubscriberStatus;
  midweek: boolean;
  sunday: boolean;
  consent: Consent;
  softBounces: number;
  lastReply: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A subscriber the operator or an import names. */
export interface SubscriberInput {
  email: string;
  name?: string | null;
  editions: Kind[];
}

/** A subscription request from the public form. */
export interface FormSubscription extends SubscriberInput {
  ip: string | null;
  wording: string;
}

/** What a form subscription did: whether a confirmation email must go out. */
export interface SubscribeOutcome {
  sendConfirmation: boolean;
  subscriber: Subscriber | undefined;
}

/** Counts for `subscribers list`. */
export interface SubscriberCounts {
  total: number;
  byStatus: Record<SubscriberStatus, number>;
  /** Active subscribers receiving each kind. */
  byEdition: Record<Kind, number>;
}

/** What erasing an address removed. */
export interface EraseOutcome {
  subscriber: Subscriber | undefined;
  deliveriesAnonymised: number;
  suppressionAdded: boolean;
}

/** Input the store refuses; the message names the value. */
export class SubscriberError extends Error {
  override name = 'SubscriberError';
}

/** A pending subscriber gets at most one confirmation email in this interval, whoever asks. */
export const CONFIRMATION_RESEND_MS = 5 * 60_000;

/** The label erased addresses get in the delivery ledger. */
export const ERASED_EMAIL = 'erased';

/** The kinds a subscriber receives. */
export function editionsOf(s: Pick<Subscriber, 'midweek' | 'sunday'>): Kind[] {
  return [...(s.midweek ? (['midweek'] as const) : []), ...(s.sunday ? (['sunday'] as const) : [])];
}

/**
 * A recipient's state for one edition (see src/delivery/ledger.ts for the meaning of each):
 * 'sending' is written before the SMTP transaction, the others after it.
 */
export type DeliveryState = 'sending' | 'sent' | 'deferred' | 'failed' | 'bounced' | 'in_doubt' | 'skipped' | 'soft_bounced' | 'complained';

/** Every state, in report order. */
export const DELIVERY_STATES: readonly DeliveryState[] = ['sending', 'sent', 'deferred', 'failed', 'bounced', 'in_doubt', 'skipped', 'soft_bounced', 'complained'];

/** States a run never sends to again (in_doubt only with `--resend-unknown`). */
export const FINAL_STATES: ReadonlySet<DeliveryState> = new Set(['sent', 'bounced', 'failed', 'in_doubt', 'skipped', 'soft_bounced', 'complained']);

/** One ledger row. */
export interface Delivery {
  editionId: string;
  subscriberId: number;
  email: string;
  state: DeliveryState;
  attempts: number;
  lastReply: string | null;
  messageId: string | null;
  createdAt: string;
  updatedAt: string;
  /** Present when a bounce or complaint arrived after the relay accepted the copy (src/bounces/). */
  late?: LateOutcome;
}

/** What arrived about a copy after the relay accepted it. */
export interface LateOutcome {
  /** RFC 3463 status (5.1.1), or 'complaint'. */
  status: string | null;
  diagnostic: string | null;
  /** Where it came from: dsn, arf, qmail, exim, exchange, yahoo, text, mailgun, postmark, ses. */
  source: string | null;
  arrivedAt: string;
}

/** One row of the delivery ledger, as kept for a subscriber. */
export type DeliveryRecord = Omit<Delivery, 'email'>;

/** A finished attempt to write back. */
export interface DeliveryOutcome {
  subscriberId: number;
  state: Exclude<DeliveryState, 'sending'>;
  reply: string;
  messageId: string | null;
}
