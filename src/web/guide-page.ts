import type { Content, Guide, NewsItem } from '../content/loader.ts';
import { markdownToHtml } from '../render/markdown.ts';
import { html, raw, type SafeHtml } from './html.ts';
import { age, guideForTopic, guideRelations } from './related.ts';
import { GUIDE_PITCH, subscribeBox } from './subscribe-box.ts';

/** What a guide page is drawn from. */
export interface GuidePageInput {
  guide: Guide;
  content: Content;
  /** Topic slug → display name (related.ts topicNames). */
  names: Map<string, string>;
  now: Date;
}

/**
 * A guide body with its `##`/`###` headings as real h2/h3 elements (the shared Markdown renderer draws headings as
 * styled paragraphs, which email needs and a web page does not) and the text between them rendered as Markdown.
 */
export function guideBodyHtml(markdown: string): SafeHtml {
  const parts: SafeHtml[] = [];
  let text: string[] = [];
  let fence: string | undefined;
  const flush = () => {
    if (text.join('').trim()) parts.push(raw(markdownToHtml(text.join('\n'))));
    text = [];
  };
  for (const line of markdown.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (!fence || marker.startsWith(fence))) fence = fence ? undefined : marker.slice(0, 3);
    const heading = fence ? undefined : /^(#{2,3})[ \t]+(.+?)[ \t#]*$/.exec(line);
    if (!heading) {
      text.push(line);
      continue;
    }
    flush();
    const title = raw(markdownToHtml(heading[2]!, { inline: true }));
    parts.push(heading[1] === '##' ? html`<h2>${title}</h2>` : html`<h3>${title}</h3>`);
  }
  flush();
  return html`${parts}`;
}

function topicName(slug: string, names: Map<string, string>): string {
  return names.get(slug) ?? slug;
}

function newsCard(item: NewsItem, now: Date): SafeHtml {
  const published = item.published.toISOString();
  return html`<article class="card">
<p class="card-meta"><span class="score${item.score >= 8 ? ' high' : ''}" title="Importance ${item.score} of 10" aria-label="Importance ${item.score} of 10">${item.score}</span> <span class="source">${item.source}</span> <span aria-hidden="true">·</span> <time datetime="${published}" title="${published.slice(0, 10)}">${age(item.published, now)}</time> <span aria-hidden="true">·</span> <a href="${item.url}" rel="noopener noreferrer">source ↗</a></p>
<h3><a href="${item.url}" rel="noopener noreferrer">${item.title}</a></h3>
<div class="summary">${raw(markdownToHtml(item.summary))}</div>
</article>`;
}

function guideLink(g: Guide): SafeHtml {
  const tldr = g.tldr.length > 150 ? `${g.tldr.slice(0, 147).replace(/\s+\S*$/, '')}…` : g.tldr;
  return html`<li><p class="kicker small">Guide · ${g.kind}</p><a class="title" href="/guides/${g.slug}">${g.title}</a><p class="fine">${tldr}</p></li>`;
}

function topicChip(slug: string, input: GuidePageInput): SafeHtml {
  const target = guideForTopic(slug, input.content.guides, input.guide.slug);
  const name = topicName(slug, input.names);
  return target ? html`<li><a class="chip" href="/guides/${target.slug}">${name}</a></li>` : html`<li><span class="chip">${name}</span></li>`;
}

/**
 * The published guide page (the layout of the newsletter's site): the guide, its related topics, the "Stay current"
 * box with a subscribe form, related guides and the "More on <topic> (N)" news cards.
 */
export function guidePage(input: GuidePageInput): SafeHtml {
  const { guide, now, names } = input;
  const related = guideRelations(guide, input.content, now);
  const updated = guide.updated.toISOString();
  const article = html`<article class="panel guide">
<p class="kicker">Guide · ${guide.kind}</p>
<h1>${guide.title}</h1>
<ul class="chips">${guide.topics[0] ? html`<li><span class="chip dark">${topicName(guide.topics[0], names)}</span></li>` : ''}<li><span class="chip">${guide.kind}</span></li><li><span class="chip">updated <time datetime="${updated}" title="${updated.slice(0, 10)}">${age(guide.updated, now)}</time></span></li></ul>
<div class="tldr"><strong>TL;DR</strong> ${guide.tldr}</div>
<h2>Key takeaways</h2>
<ul class="takeaways">${guide.takeaways.map((t) => html`<li>${raw(markdownToHtml(t, { inline: true }))}</li>`)}</ul>
<div class="body">${guideBodyHtml(guide.body)}</div>
${related.topics.length > 0 ? html`<section class="related-topics"><h2>Related topics</h2><ul class="chips">${related.topics.map((t) => topicChip(t, input))}</ul></section>` : ''}
</article>`;
  const aside = html`<aside class="side">
${subscribeBox('stay', GUIDE_PITCH)}
${
  related.guides.length > 0
    ? html`<section class="panel related-guides"><h2>Related guides (${related.guides.length})</h2><ul class="guide-list">${related.guides.map(guideLink)}</ul></section>`
    : ''
}
</aside>`;
  const more =
    related.news.length > 0 && related.topic
      ? html`<section class="panel more" aria-labelledby="more-h"><h2 id="more-h">More on ${topicName(related.topic, names)} (${related.news.length})</h2>
${related.news.map((n) => newsCard(n, now))}
</section>`
      : '';
  return html`<div class="guide-grid">
${article}
${aside}
${more}
</div>`;
}
