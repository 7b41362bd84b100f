import { readdir, readFile, stat } from 'node:fs/promises';
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
  /** The file's text, or undefined when it was too large to read (see `size`). */
  text: string | undefined;
  size: number;
}

/** The largest content file read: a news item is a few KB, a long guide a few tens of KB. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** A slug is a URL path segment (a guide's page is /guides/<slug>): lowercase kebab-case. */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

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
      // Size first, so an oversized file is refused without being read into memory.
      const { size } = await stat(path);
      const text = size > MAX_FILE_BYTES ? undefined : await readFile(path, 'utf8');
      return { file: displayPath(path), slug: name.slice(0, -3), text, size };
    }),
  );
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

type FrontMatter =
  | { kind: 'ok'; yaml: string; body: string; /** 1-based file line of the first YAML line. */ firstLine: number }
  | { kind: 'missing' }
  | { kind: 'unclosed' };

/** A delimiter line: `---` alone (trailing spaces and tabs are invisible, so they are allowed). */
const DELIMITER = /^---[ \t]*$/;

/**
 * Splits `---` front matter from the Markdown body. The block ends only at a line that is `---`
 * on its own: in `title: Wait for it---` the dashes are part of the title.
 */
function splitFrontMatter(text: string): FrontMatter {
  const lines = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  if (!DELIMITER.test(lines[0] ?? '')) return { kind: 'missing' };
  const end = lines.findIndex((line, i) => i > 0 && DELIMITER.test(line));
  if (end < 0) return { kind: 'unclosed' };
  return { kind: 'ok', yaml: lines.slice(1, end).join('\n'), body: lines.slice(end + 1).join('\n').trim(), firstLine: 2 };
}

/** How many aliases a front matter may expand; far above any honest use, far below a billion laughs. */
const MAX_ALIASES = 100;

/** The YAML value of a front matter block, or one line per problem (syntax errors, alias bombs). */
function parseYaml(split: { yaml: string; firstLine: number }, file: string): { value: unknown } | { problems: string[] } {
  const doc = parseDocument(split.yaml, { schema: 'core', uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((error) => {
        const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        const line = error.linePos ? ` on line ${error.linePos[0].line + split.firstLine - 1}` : '';
        return `${file}: front matter: invalid YAML${line} (${message})`;
      }),
    };
  }
  try {
    // toJS expands aliases and refuses a document whose aliases would multiply (billion laughs).
    return { value: doc.toJS({ maxAliasCount: MAX_ALIASES }) };
  } catch (cause) {
    return { problems: [`${file}: front matter: invalid YAML (${(cause as Error).message.split('\n')[0]})`] };
  }
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

interface ParsedFile<T> {
  /** The validated fields, when the file name and every field are valid. */
  data: T | undefined;
  /** The YAML fields as written, when the front matter could be read (for checks across files). */
  raw: Record<string, unknown> | undefined;
  /** The Markdown body, when the front matter block could be found. */
  body: string | undefined;
}

/**
 * Parses one file with a schema, pushing one line per problem: size, file name, front matter,
 * each invalid field. It goes as far as it can, so one run lists every problem of the file.
 */
function parseFile<S extends z.ZodType>(source: SourceFile, schema: S, problems: string[]): ParsedFile<z.output<S>> {
  if (source.text === undefined) {
    problems.push(`${source.file}: file: expected at most ${MAX_FILE_BYTES} bytes (1 MB), found ${source.size} bytes; not read`);
    return { data: undefined, raw: undefined, body: undefined };
  }
  const nameOk = SLUG.test(source.slug);
  if (!nameOk) {
    problems.push(`${source.file}: file name: expected lowercase kebab-case (a-z, 0-9 and single hyphens, e.g. gpt-4o-launch.md), found ${JSON.stringify(`${source.slug}.md`)}`);
  }
  const split = splitFrontMatter(source.text);
  if (split.kind === 'missing') {
    problems.push(`${source.file}: front matter: expected the file to start with a '---' block of YAML fields, found none`);
    return { data: undefined, raw: undefined, body: undefined };
  }
  if (split.kind === 'unclosed') {
    problems.push(`${source.file}: front matter: the '---' block on line 1 is not closed: expected a line '---' after the fields, found none`);
    return { data: undefined, raw: undefined, body: undefined };
  }
  const yaml = parseYaml(split, source.file);
  if ('problems' in yaml) {
    problems.push(...yaml.problems);
    return { data: undefined, raw: undefined, body: split.body };
  }
  if (yaml.value === null || typeof yaml.value !== 'object' || Array.isArray(yaml.value)) {
    problems.push(`${source.file}: front matter: expected YAML fields (key: value), found ${describeValue(yaml.value)}`);
    return { data: undefined, raw: undefined, body: split.body };
  }
  const raw = yaml.value as Record<string, unknown>;
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
  }
  return { data: result.success && nameOk ? result.data : undefined, raw, body: split.body };
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
