import { sentEditions } from '../editions.ts';
import type { Handler } from '../app.ts';
import { html } from '../html.ts';
import { page } from '../pages.ts';

/** `GET /`: what the newsletter is, the latest edition, and the way in. */
export const home: Handler = (_r, app) => {
  const latest = sentEditions(app.deps.db, 1)[0];
  return page(
    200,
    'Home',
    html`<h1>AI news, twice a week</h1>
<p><strong>Midweek</strong> on Wednesday morning: the week so far. <strong>Sunday</strong>: the week in review, with in-depth guides.</p>
<p><a href="/subscribe">Subscribe</a> · <a href="/archive">Read the archive</a></p>
${latest ? html`<p class="fine">Latest: <a href="/archive/${latest.id}">${latest.subject}</a></p>` : ''}`,
  );
};
