import { KIND_NAMES } from '../../editions/calendar.ts';
import { NEWSLETTER_NAME } from '../../editions/compose.ts';
import type { Guide } from '../../content/loader.ts';
import { sentEditions, type ArchivedEdition } from '../../store/editions.ts';
import type { Handler } from '../app.ts';
import { trackingNote } from '../tracking-note.ts';
import { html } from '../html.ts';
import { layout } from '../layout.ts';
import { subscribeBox } from '../subscribe-box.ts';
import { currentContent } from './guides.ts';

/** Editions and guides listed on the home page. */
const LATEST = 5;

function editionItem(e: ArchivedEdition) {
  return html`<li><p class="kicker small">${KIND_NAMES[e.kind] ?? e.kind} · No. ${e.number} · ${e.sendAt.slice(0, 10)}</p><a class="title" href="/archive/${e.id}">${e.subject}</a>${e.preheader ? html`<p class="fine">${e.preheader}</p>` : ''}</li>`;
}

function guideItem(g: Guide) {
  const tldr = g.tldr.length > 160 ? `${g.tldr.slice(0, 157).replace(/\s+\S*$/, '')}…` : g.tldr;
  return html`<li><p class="kicker small">Guide · ${g.kind} · updated ${g.updated.toISOString().slice(0, 10)}</p><a class="title" href="/guides/${g.slug}">${g.title}</a><p class="fine">${tldr}</p></li>`;
}

/** `GET /`: what the newsletter is, a subscribe form, the latest editions and the guides. */
export const home: Handler = async (_r, app) => {
  const editions = await sentEditions(app.db, LATEST);
  const guides = [...((await currentContent(app))?.content.guides ?? [])]
    .sort((a, b) => b.updated.getTime() - a.updated.getTime() || a.slug.localeCompare(b.slug))
    .slice(0, LATEST);
  const body = html`<section class="panel hero">
<div>
<p class="kicker">${NEWSLETTER_NAME}</p>
<h1>AI news, twice a week</h1>
<p class="lead">The stories that mattered, ranked by the editors, with in-depth guides to read further.</p>
<ul>
<li><strong>Midweek</strong>, Wednesday morning: the week so far, in six stories.</li>
<li><strong>Sunday</strong>, Sunday morning: the week in review, with guides.</li>
</ul>
<p class="fine">Free. ${trackingNote(app.config.tracking)}. One-click unsubscribe. <a href="/feed.xml">RSS feed</a></p>
</div>
${subscribeBox('home', 'Get both editions by email, or just the one you choose.')}
</section>
<div class="home-grid">
<section class="panel" aria-labelledby="editions-h"><h2 id="editions-h">Latest editions</h2>
${editions.length > 0 ? html`<ul class="guide-list">${editions.map(editionItem)}</ul>` : html`<p>The first edition is on its way: subscribe above to get it.</p>`}
<p class="fine"><a href="/archive">All editions in the archive →</a></p>
</section>
<section class="panel" aria-labelledby="guides-h"><h2 id="guides-h">Guides</h2>
${guides.length > 0 ? html`<ul class="guide-list">${guides.map(guideItem)}</ul>` : html`<p>No guide yet.</p>`}
</section>
</div>`;
  return { status: 200, type: 'html', body: layout('Home', body, { wide: true }).value };
};
