import type { Kind } from '../config.ts';
import { toDelivery, type Delivery, type DeliveryRow } from '../delivery/ledger.ts';
import { nowIso, type Db } from '../db.ts';
import type { ConsentSource } from './consent.ts';
import { hashEmail, isValidEmail, normaliseEmail } from './email.ts';

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

/** One row of the delivery ledger, as kept for a subscriber. */
export type DeliveryRecord = Omit<Delivery, 'email'>;

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

interface Row {
  id: number;
  email: string;
  name: string | null;
  status: SubscriberStatus;
  midweek: number;
  sunday: number;
  consent_source: ConsentSource | null;
  consent_ip: string | null;
  consent_wording: string | null;
  requested_at: string | null;
  confirmed_at: string | null;
  soft_bounces: number;
  last_reply: string | null;
  created_at: string;
  updated_at: string;
}

function toSubscriber(row: Row): Subscriber {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    midweek: row.midweek === 1,
    sunday: row.sunday === 1,
    consent: {
      source: row.consent_source,
      ip: row.consent_ip,
      wording: row.consent_wording,
      requestedAt: row.requested_at,
      confirmedAt: row.confirmed_at,
    },
    softBounces: row.soft_bounces,
    lastReply: row.last_reply,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function flags(editions: Kind[]): { midweek: number; sunday: number } {
  return { midweek: editions.includes('midweek') ? 1 : 0, sunday: editions.includes('sunday') ? 1 : 0 };
}

/** The kinds a subscriber receives. */
export function editionsOf(s: Pick<Subscriber, 'midweek' | 'sunday'>): Kind[] {
  return [...(s.midweek ? (['midweek'] as const) : []), ...(s.sunday ? (['sunday'] as const) : [])];
}

const SETTING_LAST_ID = 'subscribers.last_id';

/** The subscriber list and the suppression list, over the SQLite schema in src/db.ts. */
export class SubscriberStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {
    // Erasure must not leave the address in freed pages of the file.
    db.pragma('secure_delete = ON');
  }

  private now(): string {
    return nowIso(this.clock);
  }

  /** Runs `fn` in one immediate transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Active subscribers of a kind with id > afterId, in id order, at most `limit` (keyset paging: never the whole list in memory). */
  activeBatch(kind: Kind, afterId: number, limit: number): { id: number; email: string; name: string | null }[] {
    const column = kind === 'midweek' ? 'midweek' : 'sunday';
    return this.db
      .prepare(`SELECT id, email, name FROM subscribers WHERE status = 'active' AND ${column} = 1 AND id > ? ORDER BY id LIMIT ?`)
      .all(afterId, limit) as { id: number; email: string; name: string | null }[];
  }

  /** How many active subscribers receive a kind. */
  countActive(kind: Kind): number {
    const column = kind === 'midweek' ? 'midweek' : 'sunday';
    const row = this.db.prepare(`SELECT count(*) AS n FROM subscribers WHERE status = 'active' AND ${column} = 1`).get() as { n: number };
    return row.n;
  }

  /** The subscriber with this id. */
  get(id: number): Subscriber | undefined {
    const row = this.db.prepare('SELECT * FROM subscribers WHERE id = ?').get(id) as Row | undefined;
    return row && toSubscriber(row);
  }

  /** The subscriber with this address, in any case. */
  findByEmail(email: string): Subscriber | undefined {
    const row = this.db.prepare('SELECT * FROM subscribers WHERE email = ?').get(normaliseEmail(email)) as Row | undefined;
    return row && toSubscriber(row);
  }

  /** Hard bounce (5.1.x) or complaint: status changes and the address hash goes into suppressions. */
  suppress(id: number, status: 'bounced' | 'complained', reply: string): void {
    this.transaction(() => {
      const s = this.get(id);
      if (!s) return;
      this.db
        .prepare('UPDATE subscribers SET status = ?, last_reply = ?, updated_at = ? WHERE id = ?')
        .run(status, reply, this.now(), id);
      this.addSuppression(s.email, status);
    });
  }

  /** Counts a consecutive soft bounce; suppresses as 'bounced' when it reaches `limit`; returns true if suppressed. */
  recordSoftBounce(id: number, reply: string, limit: number): boolean {
    return this.transaction(() => {
      const row = this.db
        .prepare('UPDATE subscribers SET soft_bounces = soft_bounces + 1, last_reply = ?, updated_at = ? WHERE id = ? RETURNING soft_bounces')
        .get(reply, this.now(), id) as { soft_bounces: number } | undefined;
      if (!row || row.soft_bounces < limit) return false;
      this.suppress(id, 'bounced', reply);
      return true;
    });
  }

  /** Sets the soft-bounce count from the ledger's run of late soft bounces; never lowers it (the SMTP-time count may be ahead). */
  setSoftBounces(id: number, count: number, reply: string): number {
    const row = this.db
      .prepare('UPDATE subscribers SET soft_bounces = max(soft_bounces, ?), last_reply = ?, updated_at = ? WHERE id = ? RETURNING soft_bounces')
      .get(count, reply, this.now(), id) as { soft_bounces: number } | undefined;
    return row?.soft_bounces ?? 0;
  }

  /** A delivered message ends a run of soft bounces. */
  resetSoftBounces(id: number): void {
    this.db.prepare('UPDATE subscribers SET soft_bounces = 0 WHERE id = ? AND soft_bounces <> 0').run(id);
  }

  /** True when the address must never be mailed (erased, hard-bounced or complained). */
  isSuppressed(email: string): boolean {
    if (this.db.prepare('SELECT 1 FROM suppressions WHERE email_hash = ?').get(hashEmail(email))) return true;
    const s = this.findByEmail(email);
    return s?.status === 'bounced' || s?.status === 'complained';
  }

  private addSuppression(email: string, reason: string): boolean {
    const result = this.db
      .prepare('INSERT INTO suppressions (email_hash, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (email_hash) DO NOTHING')
      .run(hashEmail(email), reason, this.now());
    return result.changes > 0;
  }

  /** Inserts a new row with an id never used before (ids are in unsubscribe links, so an erased id must not come back). */
  private insert(values: Omit<Row, 'id' | 'soft_bounces' | 'last_reply' | 'created_at' | 'updated_at'>): Subscriber {
    return this.transaction(() => {
      const kept = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(SETTING_LAST_ID) as { value: string } | undefined;
      const max = (this.db.prepare('SELECT max(id) AS m FROM subscribers').get() as { m: number | null }).m ?? 0;
      const id = Math.max(Number(kept?.value ?? 0), max) + 1;
      this.db
        .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
        .run(SETTING_LAST_ID, String(id));
      const now = this.now();
      this.db
        .prepare(
          `INSERT INTO subscribers (id, email, name, status, midweek, sunday, consent_source, consent_ip, consent_wording,
             requested_at, confirmed_at, created_at, updated_at)
           VALUES (@id, @email, @name, @status, @midweek, @sunday, @consent_source, @consent_ip, @consent_wording,
             @requested_at, @confirmed_at, @now, @now)`,
        )
        .run({ ...values, id, now });
      return this.get(id)!;
    });
  }

  private update(id: number, values: Partial<Omit<Row, 'id' | 'email' | 'created_at' | 'updated_at'>>): Subscriber {
    const columns = Object.keys(values);
    const sets = [...columns.map((c) => `${c} = @${c}`), 'updated_at = @updated_at'].join(', ');
    this.db.prepare(`UPDATE subscribers SET ${sets} WHERE id = @id`).run({ ...values, id, updated_at: this.now() });
    return this.get(id)!;
  }

  private validInput(input: SubscriberInput): { email: string; name: string | null } {
    const email = normaliseEmail(input.email);
    if (!isValidEmail(email)) throw new SubscriberError(`invalid email address ${JSON.stringify(input.email)}`);
    if (input.editions.length === 0) throw new SubscriberError(`no edition chosen for ${email}: expected midweek, sunday or both`);
    const name = input.name?.trim() ? input.name.trim().slice(0, 200) : null;
    return { email, name };
  }

  /** Operator-added subscriber: active at once, consent source 'operator'. Refuses suppressed addresses. */
  add(input: SubscriberInput): { result: 'added' | 'updated' | 'unchanged' | 'suppressed'; subscriber: Subscriber | undefined } {
    const { email, name } = this.validInput(input);
    return this.transaction(() => {
      if (this.isSuppressed(email)) return { result: 'suppressed' as const, subscriber: undefined };
      const now = this.now();
      const consent = { consent_source: 'operator' as const, consent_ip: null, consent_wording: null, requested_at: now, confirmed_at: now };
      const existing = this.findByEmail(email);
      if (!existing) {
        return { result: 'added' as const, subscriber: this.insert({ email, name, status: 'active', ...flags(input.editions), ...consent }) };
      }
      const wanted = flags(input.editions);
      const same =
        existing.status === 'active' &&
        (name === null || name === existing.name) &&
        Number(existing.midweek) === wanted.midweek &&
        Number(existing.sunday) === wanted.sunday;
      if (same) return { result: 'unchanged' as const, subscriber: existing };
      const subscriber = this.update(existing.id, { name: name ?? existing.name, status: 'active', ...wanted, ...consent });
      return { result: 'updated' as const, subscriber };
    });
  }

  /** One imported row: added as active with consent source 'import'; an address already held is left exactly as it is. */
  importOne(input: SubscriberInput): 'added' | 'present' | 'suppressed' {
    const { email, name } = this.validInput(input);
    return this.transaction(() => {
      if (this.isSuppressed(email)) return 'suppressed';
      if (this.findByEmail(email)) return 'present';
      this.insert({
        email,
        name,
        status: 'active',
        ...flags(input.editions),
        consent_source: 'import',
        consent_ip: null,
        consent_wording: null,
        requested_at: this.now(),
        confirmed_at: null,
      });
      return 'added';
    });
  }

  /**
   * A subscription through the public form. Suppressed addresses and active subscribers are left unchanged and get no
   * email; anyone else becomes pending with a fresh consent record and gets a confirmation (at most one per
   * CONFIRMATION_RESEND_MS). The caller answers the same way in every case.
   */
  subscribe(input: FormSubscription): SubscribeOutcome {
    const { email, name } = this.validInput(input);
    return this.transaction(() => {
      if (this.isSuppressed(email)) return { sendConfirmation: false, subscriber: undefined };
      const now = this.now();
      const consent = {
        consent_source: 'form' as const,
        consent_ip: input.ip,
        consent_wording: input.wording,
        requested_at: now,
        confirmed_at: null,
      };
      const existing = this.findByEmail(email);
      if (!existing) {
        const subscriber = this.insert({ email, name, status: 'pending', ...flags(input.editions), ...consent });
        return { sendConfirmation: true, subscriber };
      }
      if (existing.status !== 'pending' && existing.status !== 'unsubscribed') {
        return { sendConfirmation: false, subscriber: existing };
      }
      const last = existing.status === 'pending' ? Date.parse(existing.consent.requestedAt ?? '') : NaN;
      const recent = Number.isFinite(last) && this.clock().getTime() - last < CONFIRMATION_RESEND_MS;
      const subscriber = this.update(existing.id, { name: name ?? existing.name, status: 'pending', ...flags(input.editions), ...consent });
      return { sendConfirmation: !recent, subscriber };
    });
  }

  /** Double opt-in: a pending subscriber becomes active and the confirmation time is recorded. Other states are left as they are. */
  confirm(id: number): Subscriber | undefined {
    return this.transaction(() => {
      const s = this.get(id);
      if (!s || s.status !== 'pending') return s;
      return this.update(id, { status: 'active', confirmed_at: this.now() });
    });
  }

  /** Stops one kind (or both); with no kind left the status becomes 'unsubscribed'. Idempotent. */
  unsubscribe(id: number, scope: Kind | 'all'): Subscriber | undefined {
    return this.transaction(() => {
      const s = this.get(id);
      if (!s || s.status === 'bounced' || s.status === 'complained') return s;
      const midweek = scope === 'all' || scope === 'midweek' ? false : s.midweek;
      const sunday = scope === 'all' || scope === 'sunday' ? false : s.sunday;
      const status = !midweek && !sunday ? 'unsubscribed' : s.status;
      if (midweek === s.midweek && sunday === s.sunday && status === s.status) return s;
      return this.update(id, { midweek: Number(midweek), sunday: Number(sunday), status });
    });
  }

  /**
   * Preferences page: the kinds to receive (none = leave). An unsubscribed subscriber choosing a kind again becomes
   * active with a new consent record (the link reached their inbox, which is what confirmation proves).
   */
  setEditions(id: number, editions: Kind[], consent: { ip: string | null; wording: string }): Subscriber | undefined {
    if (editions.length === 0) return this.unsubscribe(id, 'all');
    return this.transaction(() => {
      const s = this.get(id);
      if (!s || s.status === 'bounced' || s.status === 'complained' || this.isSuppressed(s.email)) return s;
      const wanted = flags(editions);
      if (s.status === 'unsubscribed') {
        const now = this.now();
        return this.update(id, {
          ...wanted,
          status: 'active',
          consent_source: 'form',
          consent_ip: consent.ip,
          consent_wording: consent.wording,
          requested_at: now,
          confirmed_at: now,
        });
      }
      if (wanted.midweek === Number(s.midweek) && wanted.sunday === Number(s.sunday)) return s;
      return this.update(id, wanted);
    });
  }

  /**
   * Erasure (GDPR): deletes the subscriber row, replaces the address in the delivery ledger (and in any SMTP reply kept
   * there) with 'erased', and keeps only the SHA-256 hash of the address in suppressions so it is never mailed again.
   */
  erase(email: string): EraseOutcome {
    const normal = normaliseEmail(email);
    const outcome = this.transaction(() => {
      const subscriber = this.findByEmail(normal);
      const rows = this.db
        .prepare('SELECT edition_id, subscriber_id, last_reply FROM deliveries WHERE email = ? OR subscriber_id = ?')
        .all(normal, subscriber?.id ?? -1) as { edition_id: string; subscriber_id: number; last_reply: string | null }[];
      const scrub = this.db.prepare('UPDATE deliveries SET email = ?, last_reply = ? WHERE edition_id = ? AND subscriber_id = ?');
      const pattern = new RegExp(normal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      for (const r of rows) {
        scrub.run(ERASED_EMAIL, r.last_reply?.replace(pattern, ERASED_EMAIL) ?? null, r.edition_id, r.subscriber_id);
      }
      // Personal click/open events (src/tracking/); a file this class opened without migrating (schema < 4) has no such table.
      if (subscriber && this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'engagement_events'").get()) this.db.prepare('DELETE FROM engagement_events WHERE subscriber_id = ?').run(subscriber.id);
      if (subscriber) this.db.prepare('DELETE FROM subscribers WHERE id = ?').run(subscriber.id);
      const suppressionAdded = this.addSuppression(normal, 'erased');
      return { subscriber, deliveriesAnonymised: rows.length, suppressionAdded };
    });
    // Move the change out of the WAL and truncate it, so the file holds no copy of the erased address.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return outcome;
  }

  /** Counts by status and, for active subscribers, by edition. */
  counts(): SubscriberCounts {
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<SubscriberStatus, number>;
    for (const row of this.db.prepare('SELECT status, count(*) AS n FROM subscribers GROUP BY status').all() as { status: SubscriberStatus; n: number }[]) {
      byStatus[row.status] = row.n;
    }
    const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
    return { total, byStatus, byEdition: { midweek: this.countActive('midweek'), sunday: this.countActive('sunday') } };
  }

  /** Every subscriber in id order, read lazily. */
  *all(): Generator<Subscriber> {
    for (const row of this.db.prepare('SELECT * FROM subscribers ORDER BY id').iterate() as IterableIterator<Row>) {
      yield toSubscriber(row);
    }
  }

  /** The delivery ledger ordered by subscriber id, then edition id, read lazily (for export). */
  *deliveryHistory(): Generator<DeliveryRecord> {
    const rows = this.db.prepare('SELECT * FROM deliveries ORDER BY subscriber_id, edition_id').iterate() as IterableIterator<DeliveryRow>;
    for (const r of rows) {
      const { email: _, ...record } = toDelivery(r);
      yield record;
    }
  }
}
