import type { Kind } from '../config.ts';
import type { Content, Guide, NewsItem } from '../content/loader.ts';
import { KIND_NAMES, type EditionSlot } from './calendar.ts';

/** How many news items and guides each kind keeps. */
export const LIMITS: Record<Kind, { news: number; guides: number }> = {
  midweek: { news: 6, guides: 1 },
  sunday: { news: 12, guides: 3 },
};

export const NEWSLETTER_NAME = 'Call Me Almanac';
export const PREHEADER_MAX = 150;

export interface FeaturedGuide {
  guide: Guide;
  /** Selected news items sharing a topic with the guide, in edition order. */
  related: NewsItem[];
}

/** One composed edition: what goes out, before rendering. */
export interface Edition extends EditionSlot {
  subject: string;
  preheader: string;
  news: NewsItem[];
  guides: FeaturedGuide[];
  /** No news in the window: not sent unless forced. */
  empty: boolean;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Score descending, then newest, then title ascending. */
export function compareNews(a: NewsItem, b: NewsItem): number {
  return b.score - a.score || b.published.getTime() - a.published.getTime() || compareText(a.title, b.title) || compareText(a.url, b.url);
}

function sharesTopic(guide: Guide, item: NewsItem): boolean {
  return item.topics.some((t) => guide.topics.includes(t));
}

function byRecency(a: Guide, b: Guide): number {
  return b.updated.getTime() - a.updated.getTime() || compareText(a.slug, b.slug);
}

/** Picks the featured guides for the selected news, as DESIGN.md ranks them. */
export function featureGuides(guides: Guide[], news: NewsItem[], limit: number): FeaturedGuide[] {
  const paired = guides
    .map((guide) => {
      const related = news.filter((item) => sharesTopic(guide, item));
      return { guide, related, weight: related.reduce((sum, item) => sum + item.score, 0) };
    })
    .filter((g) => g.related.length > 0)
    .sort((a, b) => b.weight - a.weight || byRecency(a.guide, b.guide));
  if (paired.length > 0) return paired.slice(0, limit).map(({ guide, related }) => ({ guide, related }));
  const latest = [...guides].sort(byRecency)[0];
  return latest ? [{ guide: latest, related: [] }] : [];
}

/** Cuts text to `max` characters at a word boundary, ending with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,;:.·—-]+$/, '')}…`;
}

function subjectFor(slot: EditionSlot, news: NewsItem[]): string {
  const name = `Almanac ${KIND_NAMES[slot.kind]}`;
  const lead = news[0];
  return lead ? truncate(`${name}: ${lead.title}`, 110) : `${name}: no news this time`;
}

function preheaderFor(slot: EditionSlot, news: NewsItem[], guides: FeaturedGuide[]): string {
  if (news.length === 0) return `No news in the ${KIND_NAMES[slot.kind]} window this time.`;
  const guide = guides[0]?.guide.title;
  const tail = guide ? `plus the digest: ${guide}` : '';
  // As many of the next headlines as fit beside the guide line, which always stays whole when it can.
  const titles: string[] = [];
  for (const item of news.slice(1, 4)) {
    const next = `Also: ${[...titles, item.title].join(' · ')}`;
    if (titles.length > 0 && next.length + tail.length + 3 > PREHEADER_MAX) break;
    titles.push(item.title);
  }
  const head = titles.length > 0 ? `Also: ${titles.join(' · ')}` : '';
  const text = [head, tail].filter(Boolean).join(' — ') || `The ${KIND_NAMES[slot.kind]} edition, No. ${slot.number}`;
  return truncate(text.charAt(0).toUpperCase() + text.slice(1), PREHEADER_MAX);
}

/** Composes the edition for a slot: selects, orders and pairs news and guides. Deterministic. */
export function compose(content: Content, slot: EditionSlot): Edition {
  const { from, to } = slot.window;
  const limits = LIMITS[slot.kind];
  const news = content.news
    .filter((item) => item.published > from && item.published <= to)
    .sort(compareNews)
    .slice(0, limits.news);
  const guides = featureGuides(content.guides, news, limits.guides);
  return {
    ...slot,
    subject: subjectFor(slot, news),
    preheader: preheaderFor(slot, news, guides),
    news,
    guides,
    empty: news.length === 0,
  };
}

/** The `compose --json` shape fixed in DESIGN.md. */
export function editionJson(edition: Edition) {
  return {
    id: edition.id,
    kind: edition.kind,
    sendAt: edition.sendAt.toISOString(),
    window: { from: edition.window.from.toISOString(), to: edition.window.to.toISOString() },
    subject: edition.subject,
    preheader: edition.preheader,
    number: edition.number,
    empty: edition.empty,
    news: edition.news.map((n) => ({
      url: n.url,
      title: n.title,
      score: n.score,
      published: n.published.toISOString(),
      topics: n.topics,
    })),
    guides: edition.guides.map((g) => ({
      slug: g.guide.slug,
      title: g.guide.title,
      related: g.related.map((n) => n.url),
    })),
  };
}
