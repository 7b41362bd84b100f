import type { Generated } from 'kysely';
import type { DeliveryState, SubscriberStatus } from './types.ts';

/**
 * The tables as Kysely sees them, equal on SQLite and PostgreSQL (see migrations.ts).
 * Every timestamp is ISO 8601 UTC text written by the program's clock (`Date#toISOString()`),
 * never the database's now(): one representation that sorts and compares the same on both and
 * copies between them unchanged. Booleans are integers 0/1 for the same reason.
 */
export interface Database {
  settings: SettingsTable;
  subscribers: SubscribersTable;
  suppressions: SuppressionsTable;
  editions: EditionsTable;
  deliveries: DeliveriesTable;
  send_locks: SendLocksTable;
  send_passes: SendPassesTable;
  send_claims: SendClaimsTable;
  edition_runs: EditionRunsTable;
  tracked_links: TrackedLinksTable;
  engagement_events: EngagementEventsTable;
  schedule_fires: ScheduleFiresTable;
  webhook_nonces: WebhookNoncesTable;
  stored_editions: StoredEditionsTable;
  edition_audit: EditionAuditTable;
  edition_reviews: EditionReviewsTable;
  editors: EditorsTable;
  desk_sign_in_links: DeskSignInLinksTable;
  desk_sessions: DeskSessionsTable;
  desk_audit: DeskAuditTable;
}

/**
 * An edition as frozen (schema version 9, src/store/stored-editions.ts): at approval, or at the latest
 * when its first copy is sent. Every later run sends this, never a new composition from the files.
 */
export interface StoredEditionsTable {
  edition_id: string;
  kind: string;
  send_at: string;
  /** The composed edition as JSON (src/editions/composition.ts), enough to render it again. */
  composition: string;
  /** SHA-256 of the composition: two hosts' files compose the same edition when they agree. */
  composition_hash: string;
  subject: string;
  preheader: string;
  /** The rendering sent (slots unfilled, untracked): every copy is this, byte for byte. */
  html: string;
  text: string;
  news_count: number;
  /** 'frozen' (at its first copy, not approved), 'approved', 'held' (approved, then stopped). */
  state: 'frozen' | 'approved' | 'held';
  frozen_at: string;
  approved_by: string | null;
  approved_at: string | null;
  /** When a run first started sending it; from then on it can never be replaced. */
  first_copy_at: string | null;
}

/** An edition's history: frozen, approved, held, released, review sent, … */
export interface EditionAuditTable {
  id: Generated<number>;
  edition_id: string;
  action: string;
  who: string;
  at: string;
  detail: string | null;
}

/** A review copy sent to one editor for one edition and composition (sent once; src/publish/review-copies.ts). */
export interface EditionReviewsTable {
  edition_id: string;
  /** The frozen composition's hash, or 'draft' for an edition not frozen yet. */
  composition_key: string;
  email: string;
  sent_at: string;
}

/** The links of an edition that tracked URLs may lead to (src/tracking/): a token names one by index, never a URL. */
export interface TrackedLinksTable {
  edition_id: string;
  /** 1, 2, … in the order met in the HTML. */
  link: number;
  url: string;
  /** 'news' | 'guide' | 'honeypot' (hidden from people: any click on it is a machine's). */
  kind: string;
  label: string;
}

/**
 * One click or open (src/tracking/). `subscriber_id` is set only with ALMANAC_TRACKING_PERSONAL;
 * no IP address or user agent is stored. `class` keeps machines apart from people.
 */
export interface EngagementEventsTable {
  id: Generated<number>;
  edition_id: string;
  /** The link clicked; 0 for an open. */
  link: number;
  type: 'click' | 'open';
  class: 'human' | 'machine';
  /** Why it is not a plain human event (head, scanner, early, burst, honeypot, privacy-proxy…), else null. */
  reason: string | null;
  subscriber_id: number | null;
  at: string;
}

/** One send run of an edition (report shows the runs as they were). */
export interface EditionRunsTable {
  edition_id: string;
  /** 1, 2, … in start order. */
  run: number;
  started_at: string;
  /** Null: still running, or the process died. */
  finished_at: string | null;
  outcome: 'complete' | 'incomplete' | null;
  /** Ledger rows 'sent' when the run started, and when it finished. */
  sent_before: number | null;
  sent_after: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface SubscribersTable {
  /** Never reused: allocated from settings `subscribers.last_id` (ids are in unsubscribe links). */
  id: number;
  /** Normalised: trimmed, lowercase. */
  email: string;
  name: string | null;
  status: SubscriberStatus;
  midweek: Generated<number>;
  sunday: Generated<number>;
  consent_source: string | null;
  consent_ip: string | null;
  consent_wording: string | null;
  requested_at: string | null;
  confirmed_at: string | null;
  /** Consecutive, across editions. */
  soft_bounces: Generated<number>;
  last_reply: string | null;
  /** The last lifted bounce or complaint suppression (src/store/suppression.ts): when, 'operator' or 'confirmation', 'bounced' or 'complained'. */
  suppression_lifted_at: string | null;
  suppression_lifted_by: string | null;
  suppression_lifted_from: string | null;
  created_at: string;
  updated_at: string;
}

/** Addresses never to be mailed again: SHA-256 of the normalised email. */
export interface SuppressionsTable {
  email_hash: string;
  reason: string;
  created_at: string;
}

export type EditionStatus = 'sending' | 'sent' | 'skipped' | 'failed';

export interface EditionsTable {
  id: string;
  kind: string;
  number: number;
  send_at: string;
  subject: string;
  preheader: string;
  html: string | null;
  text: string | null;
  status: Generated<EditionStatus>;
  started_at: string;
  finished_at: string | null;
  note: string | null;
}

export interface DeliveriesTable {
  edition_id: string;
  subscriber_id: number;
  email: string;
  state: DeliveryState;
  attempts: Generated<number>;
  last_reply: string | null;
  message_id: string | null;
  created_at: string;
  updated_at: string;
  /** A late bounce or complaint (src/bounces/): RFC 3463 status or 'complaint', the remote words, where from, when. */
  late_status: string | null;
  late_diagnostic: string | null;
  late_source: string | null;
  late_at: string | null;
}

export interface SendLocksTable {
  edition_id: string;
  owner: string;
  acquired_at: string;
  heartbeat_at: string;
  expires_at: string;
}

/**
 * One pass of the senders over an edition's recipients (schema version 2). `after_id` is the
 * highest subscriber id handed out in a claim so far; `exhausted` is 1 once no active subscriber
 * is left above it. A new pass starts only when the previous one has no unfinished claim.
 */
export interface SendPassesTable {
  edition_id: string;
  pass: number;
  after_id: number;
  exhausted: number;
  started_at: string;
}

/** A batch of recipients (subscriber ids from_id..to_id) claimed by one sender, leased until expires_at. */
export interface SendClaimsTable {
  edition_id: string;
  pass: number;
  from_id: number;
  to_id: number;
  owner: string;
  claimed_at: string;
  expires_at: string;
  done_at: string | null;
}

/** Which scheduler fired an edition (src/store/fires.ts). */
export interface ScheduleFiresTable {
  edition_id: string;
  /** The scheduler that holds or last held it: `hostname:pid:random`. */
  owner: string;
  /** 1 while its owner runs it (the lease is renewed), 0 once that attempt ended. */
  running: number;
  fired_at: string;
  /** Running: the lease's end. Ended: the earliest time any scheduler may attempt it again. */
  expires_at: string;
  attempts: number;
}

/**
 * One-time values of signed webhooks already accepted (a Mailgun signature's token), kept until their
 * signature would be refused as too old anyway: a replay to another host or after a restart is refused.
 */
export interface WebhookNoncesTable {
  /** 'mailgun'. */
  provider: string;
  nonce: string;
  /** When the signature stops being accepted; the row is pruned after that. */
  expires_at: string;
}

/** Who may use the editors' desk (`almanac editors add|list|remove`, src/store/editors.ts). */
export interface EditorsTable {
  /** Normalised address: the editor's name on the desk and where sign-in links go. */
  email: string;
  name: string | null;
  /** 'editor' (looks, sends test copies) or 'admin' (also manages editors and subscribers). */
  role: 'editor' | 'admin';
  created_at: string;
  updated_at: string;
}

/**
 * An emailed sign-in link of the desk (src/store/desk-sessions.ts): only the SHA-256 of its token is
 * kept. It works once (`used_at` set by the POST that spends it) and until `expires_at`.
 */
export interface DeskSignInLinksTable {
  token_hash: string;
  email: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/**
 * A signed-in editor's session, shared by every web server on the database: only the SHA-256 of the
 * cookie's value is kept. It ends after 12 hours without a request, at `expires_at` (7 days after
 * sign-in), on sign-out, and when the editor is removed.
 */
export interface DeskSessionsTable {
  id_hash: string;
  email: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

/** Every change made through the desk (and to the editors list): who, when, what, on what (src/store/desk-audit.ts). */
export interface DeskAuditTable {
  id: Generated<number>;
  at: string;
  /** The editor's address, or 'operator' for the command line. */
  actor: string;
  /** 'test-copy', 'unsuppress', 'editor-add', 'editor-update', 'editor-remove', … */
  action: string;
  /** What it was done to: an edition id, `subscriber <id>` (never an address), an editor's address. */
  subject: string;
  detail: string | null;
}
