import { decodeHTMLStrict } from 'entities';
import { archiveUrl, guideUrl } from '../../emails/_components/edition-layout.tsx';
import { SPONSOR_LINK_ATTRIBUTE } from '../../emails/_components/sponsor-block.tsx';
import type { Edition } from '../editions/compose.ts';
import { escapeHtml } from '../render/markdown.ts';
import { SLOTS } from '../render/slots.ts';
import type { RenderedEdition } from '../render/types.ts';
import type { TrackedLink } from '../store/engagement.ts';
import type { TrackingTokens } from './token.ts';

/** How an edition's links are rewritten. */
export interface RewriteOptions {
  baseUrl: string;
  tokens: TrackingTokens;
  /** Add the open pixel (ALMANAC_TRACKING=clicks,opens). */
  opens: boolean;
  /** Each tracked URL ends with the reader slot, filled per copy (ALMANAC_TRACKING_PERSONAL=true). */
  personal: boolean;
  /**
   * Links this edition already has (an earlier run of the same edition): they keep their numbers, so
   * tokens in copies already sent still lead where they did, even if the content changed since.
   */
  known?: readonly TrackedLink[];
}

/** A rendered edition with tracked links, and the links its tokens may lead to (saved in the store). */
export interface TrackedEdition {
  rendered: RenderedEdition;
  links: TrackedLink[];
}

/** The footer's sentence the personal-tracking notice follows (emails/_components/footer.tsx, src/render/edition-text.ts). */
const FOOTER_ANCHOR = 'Reply to this email to reach the editors.';
/** What the footer says when links are counted per reader (ALMANAC_TRACKING_PERSONAL=true). */
export const PERSONAL_NOTICE = 'Links to stories and guides in this email are counted per reader, so we know which ones you opened.';

/** `<a …href="…"…>` start tags as React renders them (double-quoted attributes): the whole tag, then its href. */
const ANCHOR = /<a\b[^>]*>/gi;
const HREF = /(\shref=")([^"]*)(")/i;
/** The sponsor's link is never tracked (emails/_components/sponsor-block.tsx marks it), even when it is also a story's URL. */
const SPONSOR_MARK = new RegExp(`\\s${SPONSOR_LINK_ATTRIBUTE}[\\s=>]`, 'i');

/**
 * The edition's story and guide URLs: news items (also as a guide's "More on …"), and each
 * featured guide's page. Anything else (unsubscribe and preferences slots, "view in browser",
 * links inside summaries, the postal footer) is not in this map and is never rewritten.
 */
function ownLinks(edition: Edition, baseUrl: string): Map<string, { kind: 'news' | 'guide'; label: string }> {
  const own = new Map<string, { kind: 'news' | 'guide'; label: string }>();
  for (const item of edition.news) own.set(item.url, { kind: 'news', label: item.title });
  for (const { guide, related } of edition.guides) {
    own.set(guideUrl(baseUrl, guide), { kind: 'guide', label: guide.title });
    for (const item of related) if (!own.has(item.url)) own.set(item.url, { kind: 'news', label: item.title });
  }
  return own;
}

/**
 * Rewrites the story and guide links of the rendered HTML once, for every copy:
 * `href="<story>"` becomes `href="BASE/r/<token>"` (never the sponsor's link), numbered in order of first appearance (the same
 * URL twice shares one number; numbers of `known` links are kept, new URLs get new ones). Adds a honeypot link no person sees (display:none, no text, out of
 * the tab order; it leads to the edition's archive page) and, with opens, the pixel. The text part
 * is left as it is: plain-text readers see (and copy) the real URLs, and are not counted. With
 * personal tracking the footer of both parts says that links are counted per reader.
 */
export function rewriteEdition(rendered: RenderedEdition, edition: Edition, options: RewriteOptions): TrackedEdition {
  const own = ownLinks(edition, options.baseUrl);
  const known = options.known ?? [];
  const numbers = new Map(known.filter((l) => l.kind !== 'honeypot').map((l) => [l.url, l.link]));
  const links: TrackedLink[] = [...known];
  let last = Math.max(0, ...known.map((l) => l.link));
  const reader = options.personal ? `.${SLOTS.trackingReader}` : '';
  const trackedUrl = (link: number, pixel = false) => `${options.baseUrl}/r/${options.tokens.sign({ editionId: edition.id, link, pixel })}${reader}`;

  let html = rendered.html.replace(ANCHOR, (tag) => {
    if (SPONSOR_MARK.test(tag)) return tag;
    return tag.replace(HREF, (whole, open: string, href: string, close: string) => {
      const url = decodeHTMLStrict(href);
      const mine = own.get(url);
      if (!mine) return whole;
      let link = numbers.get(url);
      if (link === undefined) {
        link = ++last;
        numbers.set(url, link);
        links.push({ link, url, kind: mine.kind, label: mine.label });
      }
      return `${open}${escapeHtml(trackedUrl(link))}${close}`;
    });
  });

  let honeypot = known.find((l) => l.kind === 'honeypot')?.link;
  if (honeypot === undefined) {
    honeypot = ++last;
    links.push({ link: honeypot, url: archiveUrl(options.baseUrl, edition.id), kind: 'honeypot', label: 'hidden link (no person sees it)' });
  }
  const extras = [
    `<a href="${escapeHtml(trackedUrl(honeypot))}" style="display:none;font-size:0;line-height:0;max-height:0;overflow:hidden" aria-hidden="true" tabindex="-1"></a>`,
    ...(options.opens ? [`<img src="${escapeHtml(trackedUrl(0, true))}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`] : []),
  ].join('');
  const end = html.lastIndexOf('</body>');
  if (end === -1) throw new Error(`cannot add tracking to ${edition.id}: the HTML has no </body>`);
  html = html.slice(0, end) + extras + html.slice(end);
  let text = rendered.text;
  if (options.personal) {
    // Readers are told, in both parts; a footer without its anchor sentence fails loudly rather than going out silent.
    if (!html.includes(FOOTER_ANCHOR) || !text.includes(FOOTER_ANCHOR)) throw new Error(`cannot add the personal tracking notice to ${edition.id}: the footer has no "${FOOTER_ANCHOR}"`);
    html = html.replace(FOOTER_ANCHOR, `${FOOTER_ANCHOR} ${escapeHtml(PERSONAL_NOTICE)}`);
    text = text.replace(FOOTER_ANCHOR, `${FOOTER_ANCHOR}\n${PERSONAL_NOTICE}`);
  }
  return { rendered: { ...rendered, html, text }, links };
}
