import { addEditor, EDITOR_ROLES, listEditors, removeEditor, type EditorRole } from '../../store/editors.ts';
import { isValidEmail, normaliseEmail } from '../../subscribers/email.ts';
import { html } from '../html.ts';
import { field } from '../http.ts';
import { signedIn } from './auth.ts';
import { localTime, scrollTable } from './format.ts';
import { deskMessage, deskPage, seeOther } from './layout.ts';

const NOTICES: Record<string, string> = {
  added: 'Added. They sign in at /desk/sign-in with a link mailed to their address.',
  updated: 'Updated.',
  unchanged: 'Already an editor with that name and role; nothing changed.',
  removed: 'Removed: their sessions ended and their unused sign-in links stopped working.',
};

/** `GET /desk/editors` (admins): who may use the desk, with forms to add and remove. */
export const editorsPage = signedIn(async (r, app, who) => {
  const editors = await listEditors(app.db);
  const notice = NOTICES[r.url.searchParams.get('notice') ?? ''];
  const rows = editors.map(
    (e) =>
      html`<tr><td>${e.email}</td><td>${e.name ?? ''}</td><td>${e.role}</td><td>${localTime(e.addedAt, app.config.timezone)}</td><td>${
        e.email === who.editor.email
          ? html`<span class="fine">you</span>`
          : html`<form method="post" action="/desk/editors/remove"><input type="hidden" name="csrf" value="${who.csrf}"><input type="hidden" name="email" value="${e.email}"><button type="submit" class="secondary" aria-label="Remove ${e.email}">Remove</button></form>`
      }</td></tr>`,
  );
  const body = html`<h1>Editors</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<div class="desk-grid">
<section class="panel full" aria-labelledby="list-h"><h2 id="list-h">Who may use the desk</h2>
${scrollTable('Editors', html`<table class="data"><thead><tr><th scope="col">Address</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Added</th><th scope="col">Remove</th></tr></thead><tbody>${rows}</tbody></table>`)}
<p class="fine">An editor looks at editions and sends test copies; an admin also manages editors and subscribers. The command line does the same: <code>almanac editors add|list|remove</code>.</p></section>
<section class="panel" aria-labelledby="add-h"><h2 id="add-h">Add or change one</h2>
<form method="post" action="/desk/editors"><input type="hidden" name="csrf" value="${who.csrf}">
<label for="ed-email">Email address</label><input id="ed-email" name="email" type="email" required>
<label for="ed-name">Name <span class="fine">(optional)</span></label><input id="ed-name" name="name" type="text" maxlength="200">
<fieldset><legend>Role</legend>${EDITOR_ROLES.map((role) => html`<label class="check"><input type="radio" name="role" value="${role}"${role === 'editor' ? html` checked` : ''}> ${role}</label>`)}</fieldset>
<button type="submit">Save</button></form></section>
</div>`;
  return deskPage(200, 'Editors', body, { who });
}, 'admin');

/** `POST /desk/editors` (admins): adds an editor or changes one's name and role. */
export const saveEditor = signedIn(async (r, app, who) => {
  const body = await r.body();
  const email = field(body, 'email') ?? '';
  const role = field(body, 'role') ?? 'editor';
  if (!isValidEmail(email) || !(EDITOR_ROLES as readonly string[]).includes(role)) {
    return deskMessage(400, 'Not saved', 'Give a valid email address and the role editor or admin; nothing changed.', { who });
  }
  const name = (field(body, 'name') ?? '').trim().slice(0, 200);
  const { result } = await addEditor(app.db, { email, name: name || undefined, role: role as EditorRole }, who.editor.email, app.clock());
  return seeOther(`/desk/editors?notice=${result}`);
}, 'admin');

/** `POST /desk/editors/remove` (admins): removes an editor (never oneself: the command line can). */
export const dropEditor = signedIn(async (r, app, who) => {
  const email = normaliseEmail(field(await r.body(), 'email') ?? '');
  if (email === who.editor.email) return deskMessage(400, 'Not removed', 'You cannot remove yourself on the desk; another admin or the command line can.', { who });
  const removed = await removeEditor(app.db, email, who.editor.email, app.clock());
  if (!removed) return deskMessage(404, 'Not removed', `${email} is not an editor; nothing changed.`, { who });
  return seeOther('/desk/editors?notice=removed');
}, 'admin');
