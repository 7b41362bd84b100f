import { createHash } from 'node:crypto';
import type { Guide, NewsItem, Sponsor } from '../content/loader.ts';
import type { Kind } from '../config.ts';
import type { Edition, EditionChoices } from './compose.ts';

/** A news item as an edition keeps it. */
interface StoredNews {
  slug: string;
  title: string;
  source: string;
  url: string;
  published: string;
  score: number;
  topics: string[];
  summary: string;
  why: string | null;
}

/** A featured guide as an edition keeps it: what the digest shows (not the whole guide), its paired news by slug. */
interface StoredGuide {
  slug: string;
  title: string;
  kind: string;
  updated: string;
  topics: string[];
  tldr: string;
  takeaways: string[];
  url: string | null;
  recent: string;
  readingMinutes: number;
  related: string[];
}

/**
 * A composed edition as plain JSON: everything its rendering shows, so it can be stored, compared
 * and rendered again, and nothing that differs between hosts with the same content (no file paths).
 */
export interface Composition {
  id: string;
  kind: Kind;
  date: string;
  sendAt: string;
  window: { from: string; to: string };
  number: number;
  subject: string;
  preheader: string;
  empty: boolean;
  news: StoredNews[];
  guides: StoredGuide[];
  letter: string | null;
  sponsor: Sponsor | null;
  choices: Omit<EditionChoices, 'file'> | null;
}

/** The edition as JSON, in a fixed key order (its hash depends on it). */
export function toComposition(edition: Edition): Composition {
  const { file: _, ...choices } = edition.choices ?? { file: '' };
  return {
    id: edition.id,
    kind: edition.kind,
    date: edition.date,
    sendAt: edition.sendAt.toISOString(),
    window: { from: edition.window.from.toISOString(), to: edition.window.to.toISOString() },
    number: edition.number,
    subject: edition.subject,
    preheader: edition.preheader,
    empty: edition.empty,
    news: edition.news.map((n) => ({
      slug: n.slug,
      title: n.title,
      source: n.source,
      url: n.url,
      published: n.published.toISOString(),
      score: n.score,
      topics: n.topics,
      summary: n.summary,
      why: n.why ?? null,
    })),
    guides: edition.guides.map(({ guide: g, related }) => ({
      slug: g.slug,
      title: g.title,
      kind: g.kind,
      updated: g.updated.toISOString(),
      topics: g.topics,
      tldr: g.tldr,
      takeaways: g.takeaways,
      url: g.url ?? null,
      recent: g.recent,
      readingMinutes: g.readingMinutes,
      related: related.map((n) => n.slug),
    })),
    letter: edition.letter ?? null,
    sponsor: edition.sponsor ?? null,
    choices: edition.choices ? (choices as Omit<EditionChoices, 'file'>) : null,
  };
}

/** SHA-256 (hex) of a composition: equal exactly when two compositions would render the same edition. */
export function compositionHash(composition: Composition): string {
  return createHash('sha256').update(JSON.stringify(composition)).digest('hex');
}

function newsItem(n: StoredNews): NewsItem {
  return { ...n, file: `news/${n.slug}.md`, published: new Date(n.published), why: n.why ?? undefined };
}

function guide(g: StoredGuide): Guide {
  const { related: _, ...rest } = g;
  // The whole guide is not kept: an edition shows its digest, and its reading time is kept as counted.
  return { ...rest, file: `guides/${g.slug}.md`, updated: new Date(g.updated), url: g.url ?? undefined, body: '' };
}

/** The edition a composition describes, as compose() made it (to render it again or send it). */
export function fromComposition(c: Composition): Edition {
  const news = c.news.map(newsItem);
  const bySlug = new Map(news.map((n) => [n.slug, n]));
  return {
    id: c.id,
    kind: c.kind,
    date: c.date,
    sendAt: new Date(c.sendAt),
    window: { from: new Date(c.window.from), to: new Date(c.window.to) },
    number: c.number,
    subject: c.subject,
    preheader: c.preheader,
    empty: c.empty,
    news,
    guides: c.guides.map((g) => ({ guide: guide(g), related: g.related.flatMap((slug) => bySlug.get(slug) ?? []) })),
    letter: c.letter ?? undefined,
    sponsor: c.sponsor ?? undefined,
    choices: c.choices ? { ...c.choices, file: `editions/${c.id}.md` } : undefined,
  };
}

/**
 * One line naming how `now` differs from the stored composition (news added and removed, titles,
 * subject, and otherwise which other parts), or undefined when they are the same edition.
 */
export function describeChanges(stored: Composition, now: Composition): string | undefined {
  if (compositionHash(stored) === compositionHash(now)) return undefined;
  const before = new Map(stored.news.map((n) => [n.slug, n]));
  const after = new Map(now.news.map((n) => [n.slug, n]));
  const quoted = (items: StoredNews[]) => items.map((n) => JSON.stringify(n.title)).join(', ');
  const parts: string[] = [];
  const added = now.news.filter((n) => !before.has(n.slug));
  const removed = stored.news.filter((n) => !after.has(n.slug));
  if (added.length > 0) parts.push(`news added: ${quoted(added)}`);
  if (removed.length > 0) parts.push(`news removed: ${quoted(removed)}`);
  for (const n of now.news) {
    const old = before.get(n.slug);
    if (old && old.title !== n.title) parts.push(`title changed: ${JSON.stringify(old.title)} → ${JSON.stringify(n.title)}`);
  }
  if (stored.subject !== now.subject) parts.push(`subject: ${JSON.stringify(stored.subject)} → ${JSON.stringify(now.subject)}`);
  if (parts.length === 0) parts.push(otherChanges(stored, now));
  return parts.join('; ');
}

/** What else differs, by part, when no news item, title or subject did. */
function otherChanges(stored: Composition, now: Composition): string {
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  const named: [string, boolean][] = [
    ['news order', differs(stored.news.map((n) => n.slug), now.news.map((n) => n.slug))],
    ['news text', differs(stored.news, now.news)],
    ['guides', differs(stored.guides, now.guides)],
    ['preheader', stored.preheader !== now.preheader],
    ['letter', stored.letter !== now.letter],
    ['sponsor', differs(stored.sponsor, now.sponsor)],
  ];
  const which = named.filter(([, d]) => d).map(([name]) => name);
  return which.length > 0 ? `changed: ${which.join(', ')}` : 'changed: the edition file or other details';
}
