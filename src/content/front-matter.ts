import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { EXPECTED, describeValue } from './schema.ts';

/** One Markdown file of a content folder, read (or refused for its size). */
export interface SourceFile {
  file: string;
  slug: string;
  /** The file's text, or undefined when it was too large to read (see `size`). */
  text: string | undefined;
  size: number;
}

/** The largest content file read: a news item is a few KB, a long guide a few tens of KB. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** A slug is a URL path segment (a guide's page is /guides/<slug>): lowercase kebab-case. */
export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The `.md` files of a folder in name order (none when the folder does not exist). */
export async function markdownFiles(dir: string, label: string): Promise<SourceFile[]> {
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

/** A path as messages show it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
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
  const named = path.filter((p) => typeof p !== 'number').map(String).join('.');
  const key = path.length > 1 && typeof path.at(-1) === 'number' ? `${named}[]` : named;
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

/** A parsed content file: what could be read of it, for the checks across files. */
export interface ParsedFile<T> {
  /** The validated fields, when the file name and every field are valid. */
  data: T | undefined;
  /** The YAML fields as written, when the front matter could be read (for checks across files). */
  raw: Record<string, unknown> | undefined;
  /** The Markdown body, when the front matter block could be found. */
  body: string | undefined;
}

/** How parseFile treats a file. */
export interface ParseOptions {
  /** The file name is checked elsewhere (edition files are named by edition id). @default false */
  skipNameCheck?: boolean;
  /** An empty front matter block means no fields (an edition file with only a letter). @default false */
  allowEmpty?: boolean;
}

/** One line per schema issue, one per field (zod may report several issues for one value). */
function schemaProblems(issues: z.core.$ZodIssue[], raw: Record<string, unknown>, file: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const prefix = fieldName(issue.path);
      for (const key of issue.keys) problems.push(`${file}: ${prefix ? `${prefix}.` : ''}${key}: expected no such field (a misspelling?), found ${describeValue(valueAt(raw, [...issue.path, key]))}`);
      continue;
    }
    const field = fieldName(issue.path);
    if (seen.has(field)) continue;
    seen.add(field);
    problems.push(`${file}: ${field}: expected ${expectationFor(issue.path)}, found ${describeValue(valueAt(raw, issue.path))}`);
  }
  return problems;
}

/**
 * Parses one file with a schema, pushing one line per problem: size, file name, front matter,
 * each invalid field. It goes as far as it can, so one run lists every problem of the file.
 */
export function parseFile<S extends z.ZodType>(source: SourceFile, schema: S, problems: string[], options: ParseOptions = {}): ParsedFile<z.output<S>> {
  if (source.text === undefined) {
    problems.push(`${source.file}: file: expected at most ${MAX_FILE_BYTES} bytes (1 MB), found ${source.size} bytes; not read`);
    return { data: undefined, raw: undefined, body: undefined };
  }
  const nameOk = options.skipNameCheck || SLUG.test(source.slug);
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
  const value = yaml.value === null && options.allowEmpty ? {} : yaml.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${source.file}: front matter: expected YAML fields (key: value), found ${describeValue(value)}`);
    return { data: undefined, raw: undefined, body: split.body };
  }
  const raw = value as Record<string, unknown>;
  const result = schema.safeParse(raw);
  if (!result.success) problems.push(...schemaProblems(result.error.issues, raw, source.file));
  return { data: result.success && nameOk ? result.data : undefined, raw, body: split.body };
}
