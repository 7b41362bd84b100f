import type { Content, Guide, NewsItem } from '../content/loader.ts';

/** How many news cards a guide page shows under "More on …". */
export const MORE_NEWS = 10;
/** How many related topics a guide page lists. */
export const MORE_TOPICS = 8;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Display names for topic slugs, taken from how the content's own titles write them (`gpt-4o` → "GPT-4o",
 * `openai` → "OpenAI", `gpt-4o-mini` → "GPT-4o mini"); a slug no title spells out gets its words, capitalised.
 */
export function topicNames(content: Content): Map<string, string> {
  const titles = [...content.guides.map((g) => g.title), ...content.news.map((n) => n.title)];
  const slugs = new Set([...content.guides.flatMap((g) => g.topics), ...content.news.flatMap((n) => n.topics)]);
  const names = new Map<string, string>();
  for (const slug of slugs) {
    const pattern = new RegExp(`(?<![\\w-])${slug.split('-').map(escapeRegExp).join('[\\s-]')}(?![\\w-])`, 'gi');
    const seen = new Map<string, number>();
    for (const title of titles) for (const m of title.matchAll(pattern)) seen.set(m[0], (seen.get(m[0]) ?? 0) + 1);
    // The spelling used most often; among equals, the one with more capitals (a proper name rather than a word).
    const capitals = (s: string) => s.replace(/[^A-Z]/g, '').length;
    const best = [...seen].sort((a, b) => b[1] - a[1] || capitals(b[0]) - capitals(a[0]) || a[0].localeCompare(b[0]))[0]?.[0];
    const name = best ?? slug.replace(/-/g, ' ');
    names.set(slug, name.charAt(0).toUpperCase() + name.slice(1));
  }
  return names;
}

/** What a guide page shows beside the guide, all taken from the content. */
export interface GuideRelations {
  /** The guide's first topic: "More on <it>". */
  topic: string | undefined;
  /** News sharing a topic with the guide, published by `now`, newest first (at most MORE_NEWS). */
  news: NewsItem[];
  /** Other guides sharing a topic with the guide (most shared first), then those sharing topics with its news. */
  guides: Guide[];
  /** The guide's other topics, then those its news mention most, without its first topic (at most MORE_TOPICS). */
  topics: string[];
}

/** The related news, guides and topics of one guide. */
export function guideRelations(guide: Guide, content: Content, now: Date): GuideRelations {
  const own = new Set(guide.topics);
  const shares = (topics: string[]) => topics.filter((t) => own.has(t)).length;
  const news = content.news
    .filter((n) => shares(n.topics) > 0 && n.published.getTime() <= now.getTime())
    .sort((a, b) => b.published.getTime() - a.published.getTime() || b.score - a.score || a.title.localeCompare(b.title))
    .slice(0, MORE_NEWS);
  // Other guides: those sharing the guide's topics first, then those sharing topics with its news.
  const newsTopics = new Map<string, number>();
  for (const n of content.news) if (shares(n.topics) > 0) for (const t of n.topics) newsTopics.set(t, (newsTopics.get(t) ?? 0) + 1);
  const closeness = (g: Guide) => shares(g.topics) * 1000 + g.topics.reduce((sum, t) => sum + (own.has(t) ? 0 : (newsTopics.get(t) ?? 0)), 0);
  const guides = content.guides
    .filter((g) => g.slug !== guide.slug && closeness(g) > 0)
    .sort((a, b) => closeness(b) - closeness(a) || b.updated.getTime() - a.updated.getTime() || a.slug.localeCompare(b.slug));
  const counts = new Map<string, number>();
  for (const n of news) for (const t of n.topics) if (!own.has(t)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const mentioned = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t);
  const topics = [...guide.topics.slice(1), ...mentioned].slice(0, MORE_TOPICS);
  return { topic: guide.topics[0], news, guides, topics };
}

/** The guide that covers a topic best (it is the guide's first topic, else any of its topics), or undefined. */
export function guideForTopic(topic: string, guides: Guide[], except?: string): Guide | undefined {
  const candidates = guides.filter((g) => g.slug !== except && g.topics.includes(topic));
  return candidates.find((g) => g.topics[0] === topic) ?? candidates[0];
}

/** "5h ago", "3d ago", "2mo ago", "1y ago" ("just now" under an hour): how old a story is. */
export function age(published: Date, now: Date): string {
  const minutes = Math.max(0, (now.getTime() - published.getTime()) / 60_000);
  if (minutes < 60) return 'just now';
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  const days = Math.floor(hours / 24);
  if (days < 31) return `${days}d ago`;
  const months = Math.floor(days / 30.44);
  if (months < 12) return `${months}mo ago`;
  return `${Math.floor(days / 365.25)}y ago`;
}
