import { join } from 'node:path';
import { parseEditionFiles, type EditionFile, type KindWeekdays } from './edition-files.ts';
import { displayPath, markdownFiles, parseFile } from './front-matter.ts';
import { readingMinutes } from './reading-time.ts';
import { guideFrontMatter, newsFrontMatter } from './schema.ts';

export type { EditionFile, KindWeekdays, Sponsor } from './edition-files.ts';

export interface NewsItem {
  /** File name without `.md`. */
  slug: string;
  /** Path of the source file, for messages. */
  file: string;
  title: string;
  source: string;
  url: string;
  published: Date;
  score: number;
  topics: string[];
  /** Markdown. */
  summary: string;
  /** One sentence: why it matters (plain text), shown under the summary. */
  why: string | undefined;
}

export interface Guide {
  slug: string;
  file: string;
  title: string;
  kind: string;
  updated: Date;
  topics: string[];
  tldr: string;
  takeaways: string[];
  /** Link to the full guide, when the editor gave one. */
  url: string | undefined;
  /** The whole guide, Markdown. */
  body: string;
  /** The `## Recent developments` section without its heading, Markdown. */
  recent: string;
  /** Estimated minutes to read the whole guide ("7 min read"). */
  readingMinutes: number;
}

export interface Content {
  news: NewsItem[];
  guides: Guide[];
  /** The editors' edition files (content/editions/<edition-id>.md), in id order. */
  editions: EditionFile[];
}

/** How content is loaded. */
export interface LoadOptions {
  /** Each kind's weekday, to check that edition files are named for a real edition; without it only the id's form is checked. */
  weekdays?: KindWeekdays;
}

/** Content that failed validation; `problems` holds one line per problem, naming file and field. */
export class ContentError extends Error {
  override name = 'ContentError';
  constructor(readonly problems: string[]) {
    super(`content has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.join('\n')}`);
  }
}

const RECENT_HEADING = /^##[ \t]+Recent developments[ \t]*#*[ \t]*$/im;

/** The `## Recent developments` section of a guide, without its heading. */
export function recentDevelopments(body: string): string | undefined {
  const m = RECENT_HEADING.exec(body);
  if (!m) return undefined;
  const rest = body.slice(m.index + m[0].length);
  const next = /^#{1,2}[ \t]+\S/m.exec(rest);
  return (next ? rest.slice(0, next.index) : rest).trim();
}

/**
 * Loads and validates every news item, guide and edition file under `dir`.
 * Returns all problems at once; content is only returned when there are none.
 */
export async function loadContent(dir: string, options: LoadOptions = {}): Promise<{ content: Content; problems: string[] }> {
  const problems: string[] = [];
  const [newsFiles, guideFiles, editionFiles] = await Promise.all([
    markdownFiles(join(dir, 'news'), 'news'),
    markdownFiles(join(dir, 'guides'), 'guides'),
    markdownFiles(join(dir, 'editions'), 'editions'),
  ]);
  if (newsFiles.length === 0 && guideFiles.length === 0) {
    problems.push(`${displayPath(dir)}: expected news/*.md and guides/*.md, found no content files`);
  }

  const news: NewsItem[] = [];
  const byUrl = new Map<string, string>();
  for (const source of newsFiles) {
    const { data, raw, body } = parseFile(source, newsFrontMatter, problems);
    // A duplicate URL is reported even when other fields of the file are wrong: one run says it all.
    const url = raw?.url;
    const key = typeof url === 'string' && newsFrontMatter.shape.url.safeParse(url).success ? normaliseUrl(url) : undefined;
    const first = key === undefined ? undefined : byUrl.get(key);
    if (first) {
      problems.push(`${source.file}: url: expected a URL no other news item uses, found ${String(url)} (also in ${first})`);
      continue;
    }
    if (key !== undefined) byUrl.set(key, source.file);
    if (!data || body === undefined) continue;
    news.push({
      slug: source.slug,
      file: source.file,
      title: data.title,
      source: data.source,
      url: data.url,
      published: new Date(data.published),
      score: data.score,
      topics: data.topics,
      summary: body,
      why: data.why,
    });
  }

  const guides: Guide[] = [];
  for (const source of guideFiles) {
    const { data, body } = parseFile(source, guideFrontMatter, problems);
    // Without a body the file could not be read or split, which is reported already.
    const recent = body === undefined ? undefined : recentDevelopments(body);
    if (body !== undefined && recent === undefined) {
      problems.push(`${source.file}: body: expected a '## Recent developments' section, found none`);
    } else if (recent === '') {
      problems.push(`${source.file}: body: expected text under '## Recent developments', found an empty section`);
    }
    if (!data || body === undefined || !recent) continue;
    guides.push({
      slug: source.slug,
      file: source.file,
      title: data.title,
      kind: data.kind,
      updated: new Date(data.updated),
      topics: data.topics,
      tldr: data.tldr,
      takeaways: data.takeaways,
      url: data.url,
      body,
      recent,
      readingMinutes: readingMinutes(body),
    });
  }
  const known = { news: new Set(newsFiles.map((f) => f.slug)), guides: new Set(guideFiles.map((f) => f.slug)) };
  const editions = parseEditionFiles(editionFiles, known, options.weekdays, problems);
  return { content: { news, guides, editions }, problems };
}

/** Loads content and throws ContentError when anything is invalid. */
export async function loadValidContent(dir: string, options: LoadOptions = {}): Promise<Content> {
  const { content, problems } = await loadContent(dir, options);
  if (problems.length > 0) throw new ContentError(problems);
  return content;
}

/** Two URLs that differ only in case of the host, a trailing slash or a fragment are the same story. */
function normaliseUrl(url: string): string {
  const u = new URL(url);
  u.hash = '';
  return u.href.replace(/\/+$/, '');
}
