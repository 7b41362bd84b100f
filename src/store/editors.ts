import { normaliseEmail } from '../subscribers/email.ts';
import { recordDeskAuditIn } from './desk-audit.ts';
import { lockRows, transaction } from './dialect.ts';
import type { Store, Tx } from './handle.ts';

// Who may use the editors' desk. Managed from the command line (`almanac editors add|list|remove`)
// and by admins on the desk; every change is written to the audit log in the same transaction.

/** What an editor may do: an editor looks, and sends test copies; an admin also manages editors and subscribers. */
export type EditorRole = 'editor' | 'admin';

/** The roles, in order of power. */
export const EDITOR_ROLES: readonly EditorRole[] = ['editor', 'admin'];

/** One person who may use the desk. */
export interface Editor {
  email: string;
  name: string | null;
  role: EditorRole;
  addedAt: string;
  updatedAt: string;
}

/** What adding an editor did. */
export type AddEditorResult = 'added' | 'updated' | 'unchanged';

type EditorRow = { email: string; name: string | null; role: EditorRole; created_at: string; updated_at: string };

function toEditor(row: EditorRow): Editor {
  return { email: row.email, name: row.name, role: row.role, addedAt: row.created_at, updatedAt: row.updated_at };
}

/** The editor with this address (any case), inside a query context. */
export async function editorIn(tx: Tx, email: string): Promise<Editor | undefined> {
  const row = await tx.selectFrom('editors').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst();
  return row && toEditor(row);
}

/** The editor with this address, if there is one. */
export function findEditor(store: Store, email: string): Promise<Editor | undefined> {
  return editorIn(store.db, email);
}

/** Every editor, by address. */
export async function listEditors(store: Store): Promise<Editor[]> {
  const rows = await store.db.selectFrom('editors').selectAll().orderBy('email').execute();
  return rows.map(toEditor);
}

/**
 * Adds an editor, or changes the name and role of one already there (the name is kept when `name` is
 * undefined). `actor` is who did it, for the audit log.
 */
export async function addEditor(
  store: Store,
  input: { email: string; name?: string | null; role: EditorRole },
  actor: string,
  now: Date,
): Promise<{ result: AddEditorResult; editor: Editor }> {
  const email = normaliseEmail(input.email);
  const at = now.toISOString();
  return transaction(store, async (tx) => {
    const existing = await lockRows(store, tx.selectFrom('editors').selectAll().where('email', '=', email)).executeTakeFirst();
    const name = input.name === undefined ? (existing?.name ?? null) : input.name?.trim() || null;
    if (existing && existing.name === name && existing.role === input.role) return { result: 'unchanged', editor: toEditor(existing) };
    if (existing) {
      await tx.updateTable('editors').set({ name, role: input.role, updated_at: at }).where('email', '=', email).execute();
    } else {
      // Two hosts adding the same address at once: the primary key lets one insert win; the other changes nothing.
      await tx.insertInto('editors').values({ email, name, role: input.role, created_at: at, updated_at: at }).onConflict((oc) => oc.column('email').doNothing()).execute();
    }
    const result: AddEditorResult = existing ? 'updated' : 'added';
    const detail = existing ? `role ${existing.role} → ${input.role}${existing.name !== name ? ', name changed' : ''}` : `role ${input.role}`;
    await recordDeskAuditIn(tx, { at, actor, action: `editor-${result === 'added' ? 'add' : 'update'}`, subject: email, detail });
    return { result, editor: (await editorIn(tx, email))! };
  });
}

/**
 * Removes an editor: their sessions end at once (on every host: sessions live in the database) and
 * their unspent sign-in links stop working. Undefined when there was no such editor.
 */
export async function removeEditor(store: Store, email: string, actor: string, now: Date): Promise<{ editor: Editor; sessionsEnded: number } | undefined> {
  const normal = normaliseEmail(email);
  return transaction(store, async (tx) => {
    const editor = await editorIn(tx, normal);
    if (!editor) return undefined;
    const ended = await tx.deleteFrom('desk_sessions').where('email', '=', normal).executeTakeFirst();
    await tx.deleteFrom('desk_sign_in_links').where('email', '=', normal).execute();
    await tx.deleteFrom('editors').where('email', '=', normal).execute();
    const sessionsEnded = Number(ended.numDeletedRows);
    await recordDeskAuditIn(tx, { at: now.toISOString(), actor, action: 'editor-remove', subject: normal, detail: `role ${editor.role}, ${sessionsEnded} session(s) ended` });
    return { editor, sessionsEnded };
  });
}
