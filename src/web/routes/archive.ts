import { KIND_NAMES } from '../../editions/calendar.ts';
import { archivedHtml, sentEditions } from '../../store/editions.ts';
import type { Handler } from '../app.ts';
import { rssFeed } from '../feed.ts';
import { html } from '../html.ts';
import { errorReply, page } from '../pages.ts';

const EDITION_ID = /^\d{4}-\d{2}-\d{2}-(midweek|sunday)$/;

/** `GET /archive`: sent editions, newest first. */
export const archiveIndex: Handler = async (_r, app) => {
  const editions = await sentEditions(app.db);
  return page(
    200,
    'Archive',
    html`<h1>Archive</h1>
${
  editions.length === 0
    ? html`<p>No edition has been sent yet.</p>`
    : html`<ul class="editions">${editions.map(
        (e) => html`<li><a href="/archive/${e.id}">${e.subject}</a><br><span class="meta">${KIND_NAMES[e.kind] ?? e.kind} No. ${e.number} · ${e.sendAt.slice(0, 10)}</span></li>`,
      )}</ul>`
}
<p class="fine"><a href="/feed.xml">RSS feed</a> · <a href="/subscribe">Subscribe</a></p>`,
  );
};

/** `GET /archive/<edition-id>`: the archive copy as sent ("view in browser"), without personal links. */
export const archiveEdition: Handler = async (r, app) => {
  const id = r.params[0]!;
  const stored = EDITION_ID.test(id) ? await archivedHtml(app.db, id) : undefined;
  if (stored === undefined) return errorReply(404, `There is no sent edition ${id}.`, false);
  return { status: 200, type: 'html', body: stored, headers: { 'Cache-Control': 'public, max-age=300' } };
};

/** `GET /feed.xml`: RSS 2.0 of sent editions. */
export const feed: Handler = async (_r, app) => ({
  status: 200,
  type: 'xml',
  body: rssFeed(app.config.baseUrl, await sentEditions(app.db, 50), app.clock()),
  headers: { 'Cache-Control': 'public, max-age=300' },
});
