import type { Kind } from '../config.ts';
import type { Content, EditionFile, Guide, NewsItem, Sponsor } from '../content/loader.ts';
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
  /** The editor's letter (Markdown) from the edition file, shown at the top. */
  letter: string | undefined;
  /** The sponsor block from the edition file. */
  sponsor: Sponsor | undefined;
  /** What the edition file decided; undefined when the edition has none (the rules alone). */
  choices: EditionChoices | undefined;
}

/** Which parts of an edition came from its edition file (`compose --json` shows them). */
export interface EditionChoices {
  /** The edition file, as messages name it. */
  file: string;
  subject: boolean;
  preheader: boolean;
  /** News slugs pinned to the top, in order. */
  pinned: string[];
  /** News slugs left out. */
  excluded: string[];
  /** The guides were chosen by the editors, not by pairing. */
  guides: boolean;
  letter: boolean;
  sponsor: boolean;
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

/** The editors' guides in their order, each with the selected news sharing a topic with it. */
function chosenGuides(guides: Guide[], slugs: string[], news: NewsItem[]): FeaturedGuide[] {
  const bySlug = new Map(guides.map((g) => [g.slug, g]));
  return slugs.flatMap((slug) => {
    const guide = bySlug.get(slug);
    return guide ? [{ guide, related: news.filter((item) => sharesTopic(guide, item)) }] : [];
  });
}

/**
 * The news of an edition: the pinned items first, in the file's order (even beyond the size limit),
 * then the window's items by rank, without excluded ones, up to the kind's limit.
 */
function selectNews(content: Content, slot: EditionSlot, file: EditionFile | undefined): NewsItem[] {
  const { from, to } = slot.window;
  const limit = LIMITS[slot.kind].news;
  const bySlug = new Map(content.news.map((n) => [n.slug, n]));
  const pinned = (file?.pin ?? []).flatMap((slug) => bySlug.get(slug) ?? []);
  const left = new Set([...(file?.pin ?? []), ...(file?.exclude ?? [])]);
  const ranked = content.news
    .filter((item) => item.published > from && item.published <= to && !left.has(item.slug))
    .sort(compareNews)
    .slice(0, Math.max(0, limit - pinned.length));
  return [...pinned, ...ranked];
}

/**
 * Composes the edition for a slot: selects, orders and pairs news and guides by the rules, then
 * applies the edition file's choices when there is one (content/editions/<id>.md). Deterministic.
 */
export function compose(content: Content, slot: EditionSlot): Edition {
  const file = content.editions.find((e) => e.id === slot.id);
  const news = selectNews(content, slot, file);
  const guides = file?.guides ? chosenGuides(content.guides, file.guides, news) : featureGuides(content.guides, news, LIMITS[slot.kind].guides);
  return {
    ...slot,
    subject: file?.subject ?? subjectFor(slot, news),
    preheader: file?.preheader ?? preheaderFor(slot, news, guides),
    news,
    guides,
    empty: news.length === 0,
    letter: file?.letter,
    sponsor: file?.sponsor,
    choices: file && {
      file: file.file,
      subject: file.subject !== undefined,
      preheader: file.preheader !== undefined,
      pinned: file.pin,
      excluded: file.exclude,
      guides: file.guides !== undefined,
      letter: file.letter !== undefined,
      sponsor: file.sponsor !== undefined,
    },
  };
}
