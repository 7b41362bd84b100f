import type { Kind } from '../config.ts';
import type { ConsentSource } from '../subscribers/consent.ts';

// The store's domain types: subscribers and the delivery ledger, the same on SQLite and PostgreSQL.

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
  /** The last time a bounce or complaint suppression was lifted (src/store/suppression.ts), else null. */
  suppressionLifted: SuppressionLift | null;
  createdAt: string;
  updatedAt: string;
}

/** A lifted suppression: when, by whom (`subscribers unsuppress`, or the subscriber confirming a new request), and what it was. */
export interface SuppressionLift {
  at: string;
  by: 'operator' | 'confirmation';
  from: 'bounced' | 'complained';
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

/**
 * What `subscribers unsuppress` did: `lifted` (from a bounce or complaint; the subscriber is active
 * again, or pending if they never confirmed), or why nothing changed: `not-suppressed`,
 * `unsubscribed` (never revived), `erased` (only a hash is left, never revived) or `unknown`.
 */
export type UnsuppressOutcome =
  | { result: 'lifted'; from: SuppressionLift['from']; subscriber: Subscriber }
  | { result: 'not-suppressed' | 'unsubscribed'; subscriber: Subscriber }
  | { result: 'erased' | 'unknown' };

/** One line of `subscribers list --emails`: an address and its state. */
export interface SubscriberState {
  email: string;
  status: SubscriberStatus;
  editions: Kind[];
  /** The suppression list's reason ('bounced', 'complained') when the address is on it, else null. */
  suppressed: string | null;
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
 * A recipient's state for one edition.
 * - sending:  written before the SMTP transaction (by the send loop, src/store/ledger.ts); a row a
 *             killed run left 'sending' never had its end-of-data written and is sent again.
 * - sent:     the server replied 250; never sent again.
 * - deferred: 4xx (or the connection failed before the data went out); retried in this run and the next.
 * - bounced:  5.1.x unknown mailbox; the subscriber is suppressed.
 * - failed:   other 5xx; recorded with the reply, not retried.
 * - in_doubt: the message may or may not have arrived: its end-of-data may have reached the server
 *             and no reply was recorded (written just before the final `.`, then replaced by the
 *             reply; left by a crash or a connection lost after the `.`); not resent unless `--resend-unknown`.
 * - skipped:  the address is suppressed; not sent.
 * Late outcomes (src/bounces/: a bounce or complaint that arrived after the relay said 250, written by
 * src/store/late.ts) move a row on:
 * - bounced:      also a late hard bounce (late_status, late_diagnostic, late_at say which and when).
 * - soft_bounced: a late soft bounce (mailbox full, temporary failure given up); counted toward the limit.
 * - complained:   the recipient reported the copy as spam; the subscriber is suppressed.
 * - failed:       also a late permanent failure that is not about the address (policy, content).
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
