import { confirmRequest } from '../../store/confirm.ts';
import { editionsOf } from '../../store/types.ts';
import type { Handler } from '../app.ts';
import { html } from '../html.ts';
import { editionNames, invalidLink, page } from '../pages.ts';

/**
 * `GET /confirm/<token>`: double opt-in; a pending subscriber becomes active and the time is recorded. The token names
 * the editions of the request it was sent for: when the pending request has changed since (another form submission
 * asking for other editions, on this web server or another), an older link confirms nothing.
 */
export const confirm: Handler = async (r, app) => {
  const verified = app.tokens.verify(r.params[0]!, 'confirm');
  if (!verified) return invalidLink();
  // Checked and confirmed in one conditional UPDATE (store/confirm.ts): no request on any server runs in between.
  const outcome = await confirmRequest(app.db, verified.subscriberId, verified.editions!, app.clock);
  if (outcome.result === 'invalid') return invalidLink();
  if (outcome.result === 'replaced') {
    return page(
      409,
      'Link replaced',
      html`<h1>This link is for an earlier request</h1>
<p>Your subscription request changed after this link was sent. Nothing was confirmed: open the link in the newest confirmation email, or <a href="/subscribe">ask for a new one</a>.</p>`,
    );
  }
  const subscriber = outcome.subscriber;
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
