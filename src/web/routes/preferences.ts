import { KINDS, type Kind } from '../../config.ts';
import { KIND_NAMES } from '../../editions/calendar.ts';
import { CURRENT_CONSENT_VERSION } from '../../subscribers/consent.ts';
import { editionsOf, type Subscriber } from '../../store/types.ts';
import type { App, Handler, RouteRequest } from '../app.ts';
import { html } from '../html.ts';
import { field } from '../http.ts';
import { editionNames, invalidLink, maskEmail, page } from '../pages.ts';

async function lookup(r: RouteRequest, app: App): Promise<Subscriber | undefined> {
  const verified = app.tokens.verify(r.params[0]!, 'preferences');
  return verified && (await app.store.get(verified.subscriberId));
}

function view(s: Subscriber, token: string, notice?: string) {
  const action = `/preferences/${token}`;
  if (s.status === 'bounced' || s.status === 'complained') {
    return html`<h1>Your editions</h1><p>${maskEmail(s.email)} no longer receives our editions: mail to it was refused or reported as spam.</p>`;
  }
  const current = s.status === 'unsubscribed' ? [] : editionsOf(s);
  return html`<h1>Your editions</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<p>${maskEmail(s.email)} ${current.length ? html`receives <strong>${editionNames(current)}</strong>.` : 'receives no edition.'}${s.status === 'pending' ? ' (Not confirmed yet: open the confirmation email to start.)' : ''}</p>
<form method="post" action="${action}">
<fieldset><legend>Send me</legend>
${KINDS.map((k) => html`<label class="check"><input type="checkbox" name="editions" value="${k}"${current.includes(k) ? html` checked` : ''}> ${KIND_NAMES[k]}</label>`)}
</fieldset>
<button type="submit" name="action" value="save">Save</button>
</form>
<form method="post" action="${action}" style="margin-top:20px">
<input type="hidden" name="action" value="leave">
<button type="submit" class="secondary">Unsubscribe from everything</button>
</form>`;
}

/** `GET /preferences/<token>`: choose Midweek, Sunday, both, or leave. */
export const preferencesPage: Handler = async (r, app) => {
  const s = await lookup(r, app);
  return s ? page(200, 'Your editions', view(s, r.params[0]!)) : invalidLink();
};

/** `POST /preferences/<token>`: saves the choice (none ticked, or action=leave, unsubscribes from both). */
export const savePreferences: Handler = async (r, app) => {
  const body = await r.body();
  const s = await lookup(r, app);
  if (!s) return invalidLink();
  const chosen: Kind[] =
    field(body, 'action') === 'leave' ? [] : KINDS.filter((k) => (body.fields.get('editions') ?? []).some((v) => v.split(',').includes(k)));
  const updated = (await app.store.setEditions(s.id, chosen, { ip: r.ip, wording: CURRENT_CONSENT_VERSION })) ?? s;
  const now = updated.status === 'active' || updated.status === 'pending' ? editionsOf(updated) : [];
  const notice = now.length ? `Saved. You receive ${editionNames(now)}.` : 'Saved. You are unsubscribed from every edition.';
  return page(200, 'Your editions', view(updated, r.params[0]!, notice));
};
