import { editionsOf } from '../../subscribers/store.ts';
import type { Handler } from '../app.ts';
import { html } from '../html.ts';
import { editionNames, invalidLink, page } from '../pages.ts';

/** `GET /confirm/<token>`: double opt-in; a pending subscriber becomes active and the time is recorded. */
export const confirm: Handler = (r, app) => {
  const verified = app.tokens.verify(r.params[0]!, 'confirm');
  const subscriber = verified && app.store.confirm(verified.subscriberId);
  if (!subscriber || subscriber.status !== 'active') return invalidLink();
  const preferences = `/preferences/${app.tokens.preferences(subscriber.id)}`;
  return page(
    200,
    'Subscribed',
    html`<h1>You are subscribed</h1>
<p>Thank you. You will receive the <strong>${editionNames(editionsOf(subscriber))}</strong> edition${editionsOf(subscriber).length > 1 ? 's' : ''}.</p>
<p>Every email has a one-click unsubscribe link. You can also <a href="${preferences}">change your editions</a> at any time.</p>
<p><a href="/archive">Read past editions</a></p>`,
  );
};
