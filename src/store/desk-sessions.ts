import { createHash, randomBytes } from 'node:crypto';
import { normaliseEmail } from '../subscribers/email.ts';
import { transaction } from './dialect.ts';
import { editorIn, type Editor } from './editors.ts';
import type { Store, Tx } from './handle.ts';

// Sign-in links and sessions of the editors' desk. Both live in the database, so every web server on
// it honours them; both keep only a SHA-256 of their secret, so a copy of the database signs no one in.
// Secrets are looked up by their hash (an index lookup on a digest leaks nothing about the secret).

/** A sign-in link works for this long after it is sent… */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** …and this long after sign-in whatever happens. */
export const SESSION_MAX_MS = 7 * 24 * 3_600_000;
/** A session's last request is written at most this often (not one write per page). */
const TOUCH_EVERY_MS = 60_000;

/** The form of the link tokens and session ids this module makes: 32 random bytes, base64url. */
const SECRET_FORM = /^[A-Za-z0-9_-]{43}$/;

/** A signed-in editor. */
export interface DeskSession {
  editor: Editor;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Forgets links past their expiry and sessions past their end (idle or total). */
async function pruneIn(tx: Tx, now: Date): Promise<void> {
  await tx.deleteFrom('desk_sign_in_links').where('expires_at', '<=', now.toISOString()).execute();
  await tx
    .deleteFrom('desk_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now.toISOString()), eb('last_seen_at', '<=', new Date(now.getTime() - SESSION_IDLE_MS).toISOString())]))
    .execute();
}

/**
 * A new sign-in link's token for `email` when it is an editor's, else undefined (the caller answers
 * the same either way). Only the token's SHA-256 is stored; the link works once, for SIGN_IN_LINK_TTL_MS.
 */
export async function createSignInLink(store: Store, email: string, now: Date): Promise<{ token: string; editor: Editor } | undefined> {
  return transaction(store, async (tx) => {
    await pruneIn(tx, now);
    const editor = await editorIn(tx, email);
    if (!editor) return undefined;
    const token = newSecret();
    await tx
      .insertInto('desk_sign_in_links')
      .values({ token_hash: digest(token), email: editor.email, created_at: now.toISOString(), expires_at: new Date(now.getTime() + SIGN_IN_LINK_TTL_MS).toISOString(), used_at: null })
      .execute();
    return { token, editor };
  });
}

/** True when the link would sign someone in now (unspent, not expired, its editor still there). Spends nothing. */
export async function signInLinkUsable(store: Store, token: string, now: Date): Promise<boolean> {
  if (!SECRET_FORM.test(token)) return false;
  const row = await store.db
    .selectFrom('desk_sign_in_links')
    .innerJoin('editors', 'editors.email', 'desk_sign_in_links.email')
    .select('desk_sign_in_links.email')
    .where('token_hash', '=', digest(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Spends a sign-in link and opens a session: the conditional UPDATE marks the link used only if it is
 * unspent and unexpired, so of two requests (on any hosts) with one link, one signs in. Returns the new
 * session's id (for the cookie; only its hash is stored), or undefined when the link cannot be used.
 */
export async function spendSignInLink(store: Store, token: string, now: Date): Promise<{ sessionId: string; session: DeskSession } | undefined> {
  if (!SECRET_FORM.test(token)) return undefined;
  return transaction(store, async (tx) => {
    const spent = await tx
      .updateTable('desk_sign_in_links')
      .set({ used_at: now.toISOString() })
      .where('token_hash', '=', digest(token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now.toISOString())
      .returning('email')
      .executeTakeFirst();
    const editor = spent && (await editorIn(tx, spent.email));
    if (!editor) return undefined;
    const sessionId = newSecret();
    const session = { createdAt: now.toISOString(), lastSeenAt: now.toISOString(), expiresAt: new Date(now.getTime() + SESSION_MAX_MS).toISOString() };
    await tx
      .insertInto('desk_sessions')
      .values({ id_hash: digest(sessionId), email: editor.email, created_at: session.createdAt, last_seen_at: session.lastSeenAt, expires_at: session.expiresAt })
      .execute();
    return { sessionId, session: { editor, ...session } };
  });
}

/**
 * The session a cookie names, if it is still open: its editor is still on the list, it has not
 * reached its end, and its last request is less than SESSION_IDLE_MS ago. Records this request as the
 * last (at most once a minute). An ended session is deleted.
 */
export async function sessionOf(store: Store, sessionId: string, now: Date): Promise<DeskSession | undefined> {
  if (!SECRET_FORM.test(sessionId)) return undefined;
  const idHash = digest(sessionId);
  const row = await store.db
    .selectFrom('desk_sessions')
    .innerJoin('editors', 'editors.email', 'desk_sessions.email')
    .select(['desk_sessions.created_at as createdAt', 'last_seen_at as lastSeenAt', 'expires_at as expiresAt', 'editors.email', 'name', 'role', 'editors.created_at as addedAt', 'updated_at as updatedAt'])
    .where('id_hash', '=', idHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const t = now.getTime();
  if (Date.parse(row.expiresAt) <= t || Date.parse(row.lastSeenAt) + SESSION_IDLE_MS <= t) {
    await store.db.deleteFrom('desk_sessions').where('id_hash', '=', idHash).execute();
    return undefined;
  }
  let lastSeenAt = row.lastSeenAt;
  if (t - Date.parse(row.lastSeenAt) >= TOUCH_EVERY_MS) {
    lastSeenAt = now.toISOString();
    await store.db.updateTable('desk_sessions').set({ last_seen_at: lastSeenAt }).where('id_hash', '=', idHash).execute();
  }
  const editor: Editor = { email: row.email, name: row.name, role: row.role, addedAt: row.addedAt, updatedAt: row.updatedAt };
  return { editor, createdAt: row.createdAt, lastSeenAt, expiresAt: row.expiresAt };
}

/** Ends a session (sign-out). */
export async function endSession(store: Store, sessionId: string): Promise<void> {
  if (!SECRET_FORM.test(sessionId)) return;
  await store.db.deleteFrom('desk_sessions').where('id_hash', '=', digest(sessionId)).execute();
}

/** Open sessions per editor address (for `editors list`). */
export async function sessionCounts(store: Store, now: Date): Promise<Map<string, number>> {
  const rows = await store.db
    .selectFrom('desk_sessions')
    .select(['email', (eb) => eb.fn.countAll<number>().as('n')])
    .where('expires_at', '>', now.toISOString())
    .where('last_seen_at', '>', new Date(now.getTime() - SESSION_IDLE_MS).toISOString())
    .groupBy('email')
    .execute();
  return new Map(rows.map((r) => [normaliseEmail(r.email), Number(r.n)]));
}
