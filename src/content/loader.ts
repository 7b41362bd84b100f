import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { EXPECTED, describeValue, guideFrontMatter, newsFrontMatter } from './schema.ts';

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
}

export interface Content {
  news: NewsItem[];
  guides: Guide[];
}

/** Content that failed validation; `problems` holds one line per problem, naming file and field. */
export class ContentError extends Error {
  override name = 'ContentError';
  constructor(readonly problems: string[]) {
    super(`content has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.join('\n')}`);
  }
}

const RECENT_HEADING = /^##[ \t]+Recent developments[ \t]*#*[ \t]*$/im;

interface SourceFile {
  file: string;
  slug: string;
  text: string;
}

async function markdownFiles(dir: string, label: string): Promise<SourceFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read ${label} directory ${dir}`, { cause });
  }
  const files = names.filter((n) => n.endsWith('.md')).sort();
  return Promise.all(
    files.map(async (name) => {
      const path = join(dir, name);
      return { file: displayPath(path), slug: name.slice(0, -3), text: await readFile(path, 'utf8') };
    }),
  );
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/** Splits `---` front matter from the Markdown body. */
function splitFrontMatter(text: string): { yaml: string; body: string } | undefined {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const m = /^---[ \t]*\n([\s\S]*?)\n?---[ \t]*(?:\n|$)([\s\S]*)$/.exec(normalised);
  return m ? { yaml: m[1]!, body: m[2]!.trim() } : undefined;
}

function fieldName(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function expectationFor(path: PropertyKey[]): string {
  const key = path.length > 1 && typeof path[1] === 'number' ? `${String(path[0])}[]` : String(path[0]);
  return EXPECTED[key] ?? 'a valid value';
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Parses one file with a schema; returns the data or pushes one line per problem. */
function parseFile<S extends z.ZodType>(
  source: SourceFile,
  schema: S,
  problems: string[],
): { data: z.output<S>; body: string } | undefined {
  const split = splitFrontMatter(source.text);
  if (!split) {
    problems.push(`${source.file}: front matter: expected the file to start with a '---' block of YAML fields, found none`);
    return undefined;
  }
  const doc = parseDocument(split.yaml, { schema: 'core', uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    problems.push(`${source.file}: front matter: invalid YAML (${first.message.split('\n')[0]})`);
    return undefined;
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${source.file}: front matter: expected YAML fields (key: value), found ${describeValue(raw)}`);
    return undefined;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    // One line per field: zod may report several issues for one value.
    const seen = new Set<string>();
    for (const issue of result.error.issues) {
      const field = fieldName(issue.path);
      if (seen.has(field)) continue;
      seen.add(field);
      const found = describeValue(valueAt(raw, issue.path));
      problems.push(`${source.file}: ${field}: expected ${expectationFor(issue.path)}, found ${found}`);
    }
    return undefined;
  }
  return { data: result.data, body: split.body };
}

/** The `## Recent developments` section of a guide, without its heading. */
export function recentDevelopments(body: string): string | undefined {
  const m = RECENT_HEADING.exec(body);
  if (!m) return undefined;
  const rest = body.slice(m.index + m[0].length);
  const next = /^#{1,2}[ \t]+\S/m.exec(rest);
  return (next ? rest.slice(0, next.index) : rest).trim();
}

/**
 * Loads and validates every news item and guide under `dir`.
 * Returns all problems at once; content is only returned when there are none.
 */
export async function loadContent(dir: string): Promise<{ content: Content; problems: string[] }> {
  const problems: string[] = [];
  const [newsFiles, guideFiles] = await Promise.all([
    markdownFiles(join(dir, 'news'), 'news'),
    markdownFiles(join(dir, 'guides'), 'guides'),
  ]);
  if (newsFiles.length === 0 && guideFiles.length === 0) {
    problems.push(`${displayPath(dir)}: expected news/*.md and guides/*.md, found no content files`);
  }

  const news: NewsItem[] = [];
  const byUrl = new Map<string, string>();
  for (const source of newsFiles) {
    const parsed = parseFile(source, newsFrontMatter, problems);
    if (!parsed) continue;
    const { data, body } = parsed;
    const key = normaliseUrl(data.url);
    const first = byUrl.get(key);
    if (first) {
      problems.push(`${source.file}: url: expected a URL no other news item uses, found ${data.url} (also in ${first})`);
      continue;
    }
    byUrl.set(key, source.file);
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
    });
  }

  const guides: Guide[] = [];
  for (const source of guideFiles) {
    const parsed = parseFile(source, guideFrontMatter, problems);
    const recent = recentDevelopments(splitFrontMatter(source.text)?.body ?? '');
    if (recent === undefined) {
      problems.push(`${source.file}: body: expected a '## Recent developments' section, found none`);
    } else if (recent === '') {
      problems.push(`${source.file}: body: expected text under '## Recent developments', found an empty section`);
    }
    if (!parsed || !recent) continue;
    const { data, body } = parsed;
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
    });
  }
  return { content: { news, guides }, problems };
}

/** Loads content and throws ContentError when anything is invalid. */
export async function loadValidContent(dir: string): Promise<Content> {
  const { content, problems } = await loadContent(dir);
  if (problems.length > 0) throw new ContentError(problems);
  return content;
}

/** Two URLs that differ only in case of the host, a trailing slash or a fragment are the same story. */
function normaliseUrl(url: string): string {
  const u = new URL(url);
  u.hash = '';
  return u.href.replace(/\/+$/, '');
}
