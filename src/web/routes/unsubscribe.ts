import type { Kind } from '../../config.ts';
import { KIND_NAMES } from '../../editions/calendar.ts';
import { editionsOf, type Subscriber } from '../../store/types.ts';
import type { App, Handler, RouteRequest } from '../app.ts';
import { html } from '../html.ts';
import { field } from '../http.ts';
import { editionNames, invalidLink, maskEmail, page } from '../pages.ts';

async function lookup(r: RouteRequest, app: App): Promise<{ subscriber: Subscriber; kind: Kind; token: string } | undefined> {
  const token = r.params[0]!;
  const verified = app.tokens.verify(token, 'unsubscribe');
  const subscriber = verified && (await app.store.get(verified.subscriberId));
  return subscriber && verified.kind ? { subscriber, kind: verified.kind, token } : undefined;
}

function receives(s: Subscriber): Kind[] {
  return s.status === 'active' || s.status === 'pending' ? editionsOf(s) : [];
}

function button(token: string, scope: 'kind' | 'all', label: string, secondary = false) {
  return html`<form class="inline" method="post" action="/unsubscribe/${token}"><input type="hidden" name="scope" value="${scope}"><button type="submit"${secondary ? html` class="secondary"` : ''}>${label}</button></form>`;
}

function view(app: App, s: Subscriber, kind: Kind, token: string, done: boolean) {
  const current = receives(s);
  const others = current.filter((k) => k !== kind);
  const preferences = `/preferences/${app.tokens.preferences(s.id)}`;
  const lead = current.includes(kind)
    ? html`<h1>Unsubscribe from ${KIND_NAMES[kind]}?</h1><p>${maskEmail(s.email)} will stop receiving the ${KIND_NAMES[kind]} edition.</p>`
    : html`<h1>${done ? (current.length ? `Unsubscribed from ${KIND_NAMES[kind]}` : 'You are unsubscribed') : 'Already unsubscribed'}</h1>
<p>${maskEmail(s.email)} no longer receives ${current.length === 0 ? 'any edition' : `the ${KIND_NAMES[kind]} edition`}.${done && current.length === 0 ? ' We are sorry to see you go.' : ''}</p>`;
  const buttons = [
    current.includes(kind) ? button(token, 'kind', `Unsubscribe from ${KIND_NAMES[kind]}`) : '',
    others.length > 0 ? button(token, 'all', current.includes(kind) ? 'Leave both editions' : `Leave ${editionNames(others)} too`, current.includes(kind)) : '',
  ];
  return html`${lead}
${others.length > 0 ? html`<p>You still receive ${editionNames(others)}.</p>` : ''}
<div>${buttons}</div>
<p class="fine"><a href="${preferences}">${done ? 'Change your editions' : 'Change your editions instead'}</a></p>`;
}

/** `GET /unsubscribe/<token>`: a page with the button. Changes nothing (link scanners fetch every URL). */
export const unsubscribePage: Handler = async (r, app) => {
  const found = await lookup(r, app);
  if (!found) return invalidLink();
  return page(200, 'Unsubscribe', view(app, found.subscriber, found.kind, found.token, false));
};

/**
 * `POST /unsubscribe/<token>`: RFC 8058 one-click (body `List-Unsubscribe=One-Click`, urlencoded or multipart, no
 * cookies) or the page's button. Removes the token's kind, or both with `scope=all`. 200, never a redirect; idempotent.
 */
export const unsubscribe: Handler = async (r, app) => {
  const body = await r.body();
  const found = await lookup(r, app);
  if (!found) return invalidLink();
  const scope = field(body, 'scope') === 'all' ? 'all' : found.kind;
  const updated = (await app.store.unsubscribe(found.subscriber.id, scope)) ?? found.subscriber;
  return page(200, 'Unsubscribed', view(app, updated, found.kind, found.token, true));
};
