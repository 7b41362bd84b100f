import { ContentError, loadValidContent } from '../../content/loader.ts';
import { markdownToHtml } from '../../render/markdown.ts';
import type { Handler } from '../app.ts';
import { html, raw } from '../html.ts';
import { errorReply, page } from '../pages.ts';

/** `GET /guides/<slug>`: a guide rendered from the content directory (safe Markdown). */
export const guidePage: Handler = async (r, app) => {
  const slug = r.params[0]!;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(slug)) return errorReply(404, `There is no guide "${slug}".`, false);
  let guides;
  try {
    guides = (await loadValidContent(app.deps.contentDir)).guides;
  } catch (error) {
    if (!(error instanceof ContentError)) throw error;
    app.log(`guides unavailable: ${error.message.split('\n')[0]}`);
    return errorReply(503, 'Guides are unavailable right now.', false);
  }
  const guide = guides.find((g) => g.slug === slug);
  if (!guide) return errorReply(404, `There is no guide "${slug}".`, false);
  return page(
    200,
    guide.title,
    html`<article>
<p class="meta">${guide.kind} · updated ${guide.updated.toISOString().slice(0, 10)}</p>
<h1>${guide.title}</h1>
<div class="notice"><strong>TL;DR</strong> ${guide.tldr}</div>
<h2>Key takeaways</h2>
<ul>${guide.takeaways.map((t) => html`<li>${raw(markdownToHtml(t, { inline: true }))}</li>`)}</ul>
${raw(markdownToHtml(guide.body))}
</article>
<p class="fine"><a href="/subscribe">Get guides like this in the Sunday edition</a></p>`,
  );
};
