import { changed, lockRows, retryOnUniqueViolation, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';
import type { StoredEditionsTable } from './schema.ts';

/** What is frozen of an edition: its composition (JSON), hash and rendering. */
export interface FreezeInput {
  id: string;
  kind: string;
  sendAt: string;
  /** The composition as JSON text (src/editions/composition.ts). */
  composition: string;
  hash: string;
  subject: string;
  preheader: string;
  html: string;
  text: string;
  newsCount: number;
}

/** An edition as frozen, and where it stands. */
export interface StoredEdition extends FreezeInput {
  state: StoredEditionsTable['state'];
  frozenAt: string;
  approvedBy: string | null;
  approvedAt: string | null;
  /** When a run first started sending it; from then on it cannot be replaced. */
  firstCopyAt: string | null;
}

/** One entry of an edition's history. */
export interface AuditEntry {
  editionId: string;
  action: string;
  who: string;
  at: string;
  detail: string | null;
}

/** The edition cannot be changed that way (already sent or sending, not approved, not held…); the message says why. */
export class EditionStateError extends Error {
  override name = 'EditionStateError';
}

type Row = StoredEditionsTable;

function fromRow(r: Row): StoredEdition {
  return {
    id: r.edition_id,
    kind: r.kind,
    sendAt: r.send_at,
    composition: r.composition,
    hash: r.composition_hash,
    subject: r.subject,
    preheader: r.preheader,
    html: r.html,
    text: r.text,
    newsCount: Number(r.news_count),
    state: r.state,
    frozenAt: r.frozen_at,
    approvedBy: r.approved_by,
    approvedAt: r.approved_at,
    firstCopyAt: r.first_copy_at,
  };
}

function columns(input: FreezeInput) {
  return {
    kind: input.kind,
    send_at: input.sendAt,
    composition: input.composition,
    composition_hash: input.hash,
    subject: input.subject,
    preheader: input.preheader,
    html: input.html,
    text: input.text,
    news_count: input.newsCount,
  };
}

/** Appends one entry to an edition's history, inside the caller's transaction. */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx.insertInto('edition_audit').values({ edition_id: entry.editionId, action: entry.action, who: entry.who, at: entry.at, detail: entry.detail }).execute();
}

/** The stored edition, if it was frozen. */
export async function storedEdition(store: Store, id: string): Promise<StoredEdition | undefined> {
  const row = await store.db.selectFrom('stored_editions').selectAll().where('edition_id', '=', id).executeTakeFirst();
  return row && fromRow(row);
}

/** Stored editions whose ids are in `ids` (for `editions list`). */
export async function storedEditions(store: Store, ids: string[]): Promise<Map<string, StoredEdition>> {
  if (ids.length === 0) return new Map();
  const rows = await store.db.selectFrom('stored_editions').selectAll().where('edition_id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.edition_id, fromRow(r)]));
}

/**
 * Freezes an edition at its first copy: stores it (state 'frozen', first copy now) unless an
 * edition is stored already, and returns what is stored: this one, or the one another run or host
 * stored first (two senders whose files differ then send the one edition).
 */
export async function freezeAtFirstCopy(store: Store, input: FreezeInput, who: string, clock: () => Date): Promise<StoredEdition> {
  const now = clock().toISOString();
  await transaction(store, async (tx) => {
    const created = await tx
      .insertInto('stored_editions')
      .values({ edition_id: input.id, ...columns(input), state: 'frozen', frozen_at: now, approved_by: null, approved_at: null, first_copy_at: now })
      .onConflict((oc) => oc.column('edition_id').doNothing())
      .returning('edition_id')
      .executeTakeFirst();
    if (created) await appendAudit(tx, { editionId: input.id, action: 'frozen', who, at: now, detail: `at its first copy; composition ${input.hash.slice(0, 12)}, ${input.newsCount} news` });
  });
  return (await storedEdition(store, input.id))!;
}

/**
 * Marks the stored edition as being sent (its first run starts), if it is still the composition
 * `hash`: false when an approval replaced it meanwhile (read it again). From then on it cannot be replaced.
 */
export async function markFirstCopy(store: Store, id: string, hash: string, clock: () => Date): Promise<boolean> {
  const now = clock().toISOString();
  const result = await store.db
    .updateTable('stored_editions')
    .set((eb) => ({ first_copy_at: eb.fn.coalesce('first_copy_at', eb.val(now)) }))
    .where('edition_id', '=', id)
    .where('composition_hash', '=', hash)
    .executeTakeFirst();
  return changed(result) > 0;
}

/** Whether any copy of the edition went out before stored editions existed (a run row, or ledger rows). */
async function sentBefore(tx: Tx, id: string): Promise<boolean> {
  const run = await tx.selectFrom('editions').select('id').where('id', '=', id).executeTakeFirst();
  if (run) return true;
  const copy = await tx.selectFrom('deliveries').select('edition_id').where('edition_id', '=', id).limit(1).executeTakeFirst();
  return copy !== undefined;
}

/**
 * Freezes and approves an edition: stores (or, before any copy has gone out, replaces) it as
 * 'approved' by `who`. Refuses an edition already being sent or sent (EditionStateError).
 * Returns the hash it replaced, if any.
 */
export async function approveEdition(store: Store, input: FreezeInput, who: string, clock: () => Date): Promise<{ replaced: string | undefined }> {
  return retryOnUniqueViolation(() =>
    transaction(store, async (tx) => {
      const now = clock().toISOString();
      const row = await lockRows(store, tx.selectFrom('stored_editions').selectAll().where('edition_id', '=', input.id)).executeTakeFirst();
      if (row?.first_copy_at || (await sentBefore(tx, input.id))) {
        throw new EditionStateError(`${input.id} cannot be approved again: its copies started going out${row?.first_copy_at ? ` at ${row.first_copy_at}` : ''}, so the stored edition is final`);
      }
      const values = { ...columns(input), state: 'approved' as const, frozen_at: now, approved_by: who, approved_at: now };
      if (row) await tx.updateTable('stored_editions').set(values).where('edition_id', '=', input.id).execute();
      else await tx.insertInto('stored_editions').values({ edition_id: input.id, ...values, first_copy_at: null }).execute();
      const replaced = row && row.composition_hash !== input.hash ? row.composition_hash : undefined;
      const detail = `composition ${input.hash.slice(0, 12)}, ${input.newsCount} news${row ? (replaced ? `; replaces composition ${replaced.slice(0, 12)}` : '; same composition as before') : ''}`;
      await appendAudit(tx, { editionId: input.id, action: 'approved', who, at: now, detail });
      return { replaced };
    }),
  );
}

/** Moves an edition from one state to another (hold: approved → held; release: held → approved), with its audit entry. */
async function changeState(store: Store, id: string, from: Row['state'], to: Row['state'], action: string, who: string, clock: () => Date): Promise<StoredEdition> {
  return transaction(store, async (tx) => {
    const row = await lockRows(store, tx.selectFrom('stored_editions').selectAll().where('edition_id', '=', id)).executeTakeFirst();
    if (!row) throw new EditionStateError(`${id} is not approved (nothing is stored for it yet); approve it first`);
    if (row.first_copy_at) throw new EditionStateError(`${id} is already being sent or sent (since ${row.first_copy_at}); it cannot be ${action}`);
    if (row.state !== from) throw new EditionStateError(`${id} is ${row.state}, not ${from}; nothing to ${action === 'held' ? 'hold' : 'release'}`);
    const now = clock().toISOString();
    await tx.updateTable('stored_editions').set({ state: to }).where('edition_id', '=', id).execute();
    await appendAudit(tx, { editionId: id, action, who, at: now, detail: null });
    return fromRow({ ...row, state: to });
  });
}

/** Stops an approved edition: nothing sends it until it is released (or approved again). */
export function holdEdition(store: Store, id: string, who: string, clock: () => Date = () => new Date()): Promise<StoredEdition> {
  return changeState(store, id, 'approved', 'held', 'held', who, clock);
}

/** Allows a held edition again. */
export function releaseEdition(store: Store, id: string, who: string, clock: () => Date = () => new Date()): Promise<StoredEdition> {
  return changeState(store, id, 'held', 'approved', 'released', who, clock);
}

/** Records an event of an edition's history outside any other change (a review copy sent, a change noticed). */
export async function recordAudit(store: Store, entry: AuditEntry): Promise<void> {
  await appendAudit(store.db, entry);
}

/** An edition's history, oldest first. */
export async function auditLog(store: Store, id: string): Promise<AuditEntry[]> {
  const rows = await store.db.selectFrom('edition_audit').select(['edition_id', 'action', 'who', 'at', 'detail']).where('edition_id', '=', id).orderBy('id').execute();
  return rows.map((r) => ({ editionId: r.edition_id, action: r.action, who: r.who, at: r.at, detail: r.detail }));
}

/** Claims the review copy of an edition for one editor: false when it was sent (or is being sent) already. */
export async function claimReview(store: Store, editionId: string, key: string, email: string, clock: () => Date): Promise<boolean> {
  const row = await store.db
    .insertInto('edition_reviews')
    .values({ edition_id: editionId, composition_key: key, email, sent_at: clock().toISOString() })
    .onConflict((oc) => oc.columns(['edition_id', 'composition_key', 'email']).doNothing())
    .returning('email')
    .executeTakeFirst();
  return row !== undefined;
}

/** Gives a review claim back after its copy could not be sent, so a later attempt sends it. */
export async function releaseReview(store: Store, editionId: string, key: string, email: string): Promise<void> {
  await store.db.deleteFrom('edition_reviews').where('edition_id', '=', editionId).where('composition_key', '=', key).where('email', '=', email).execute();
}
