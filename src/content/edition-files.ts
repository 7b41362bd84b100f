import type { Kind } from '../config.ts';
import { isDateString, weekday } from '../editions/time.ts';
import type { ParsedFile, SourceFile } from './front-matter.ts';
import { parseFile } from './front-matter.ts';
import { editionFrontMatter, type SPONSOR_POSITIONS } from './schema.ts';

/** A labelled sponsor block: no tracking of its own, checked by the pre-send checks like everything else. */
export interface Sponsor {
  name: string;
  /** https only. */
  url: string;
  /** Plain text, one short paragraph. */
  text: string;
  position: (typeof SPONSOR_POSITIONS)[number];
}

/** `content/editions/<edition-id>.md`: what the editors decided for one edition. */
export interface EditionFile {
  /** The edition id, `YYYY-MM-DD-midweek` / `YYYY-MM-DD-sunday` (the file name). */
  id: string;
  file: string;
  subject: string | undefined;
  preheader: string | undefined;
  /** News slugs kept at the top, in this order, even beyond the size limit. */
  pin: string[];
  /** News slugs left out. */
  exclude: string[];
  /** Guide slugs featured instead of the automatic choice, in this order. */
  guides: string[] | undefined;
  sponsor: Sponsor | undefined;
  /** The editor's letter, Markdown; undefined when the body is empty. */
  letter: string | undefined;
}

/** Which weekday each kind goes out on (0 = Sunday), to check edition ids; without it only the id's form is checked. */
export type KindWeekdays = Record<Kind, number>;

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const EDITION_ID = /^(\d{4}-\d{2}-\d{2})-(midweek|sunday)$/;

/** What is wrong with an edition file's name, or undefined. */
function editionIdProblem(id: string, weekdays: KindWeekdays | undefined): string | undefined {
  const m = EDITION_ID.exec(id);
  const expected = weekdays
    ? `an edition id: YYYY-MM-DD-midweek on a ${DAY_NAMES[weekdays.midweek]} or YYYY-MM-DD-sunday on a ${DAY_NAMES[weekdays.sunday]}`
    : 'an edition id such as 2026-12-09-midweek or 2026-12-13-sunday';
  if (!m || !isDateString(m[1]!)) return `expected ${expected}, found ${JSON.stringify(`${id}.md`)}`;
  if (!weekdays) return undefined;
  const day = weekday(m[1]!);
  const kind = m[2] as Kind;
  if (day !== weekdays[kind]) return `expected ${expected}, found ${JSON.stringify(`${id}.md`)} (${m[1]} is a ${DAY_NAMES[day]})`;
  return undefined;
}

/** The slugs a list names, checked against what exists; one problem per bad entry. */
function listProblems(file: string, field: string, slugs: (string | undefined)[], known: ReadonlySet<string>, what: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  slugs.forEach((slug, i) => {
    if (slug === undefined) return;
    if (seen.has(slug)) problems.push(`${file}: ${field}[${i}]: expected each slug once, found ${JSON.stringify(slug)} again`);
    else if (!known.has(slug)) problems.push(`${file}: ${field}[${i}]: expected the slug of a ${what} (${what === 'news item' ? 'news' : 'guides'}/<slug>.md), found ${JSON.stringify(slug)}, which does not exist`);
    seen.add(slug);
  });
  return problems;
}

/** The strings of a list field as written (other entries are the schema's to report). */
function slugsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : '')) : [];
}

/** Unknown or repeated slugs in pin, exclude and guides, and slugs both pinned and excluded. */
function slugProblems(file: string, raw: Record<string, unknown>, known: KnownSlugs): string[] {
  const [pin, exclude, guides] = [slugsOf(raw.pin), slugsOf(raw.exclude), slugsOf(raw.guides)];
  const named = (slugs: string[]) => slugs.map((s) => (s === '' ? undefined : s));
  const problems = [
    ...listProblems(file, 'pin', named(pin), known.news, 'news item'),
    ...listProblems(file, 'exclude', named(exclude), known.news, 'news item'),
    ...listProblems(file, 'guides', named(guides), known.guides, 'guide'),
  ];
  exclude.forEach((slug, i) => {
    if (slug !== '' && pin.includes(slug)) problems.push(`${file}: exclude[${i}]: expected a slug that is not also pinned, found ${JSON.stringify(slug)} in both pin and exclude`);
  });
  return problems;
}

/** The slugs present on disk, valid or not (an invalid file is reported once, as itself). */
export interface KnownSlugs {
  news: ReadonlySet<string>;
  guides: ReadonlySet<string>;
}

/**
 * Reads every edition file: front matter fields, the file name as an edition id, and the slugs it
 * names against the news and guides on disk. One line per problem; a file with any is left out.
 */
export function parseEditionFiles(sources: SourceFile[], known: KnownSlugs, weekdays: KindWeekdays | undefined, problems: string[]): EditionFile[] {
  const editions: EditionFile[] = [];
  for (const source of sources) {
    const before = problems.length;
    const idProblem = editionIdProblem(source.slug, weekdays);
    if (idProblem) problems.push(`${source.file}: file name: ${idProblem}`);
    const parsed: ParsedFile<ReturnType<typeof editionFrontMatter.parse>> = parseFile(source, editionFrontMatter, problems, { skipNameCheck: true, allowEmpty: true });
    // The slugs are checked as written, even when another field is invalid: one run says it all.
    if (parsed.raw) problems.push(...slugProblems(source.file, parsed.raw, known));
    const data = parsed.data;
    if (!data || parsed.body === undefined || problems.length > before) continue;
    editions.push({
      id: source.slug,
      file: source.file,
      subject: data.subject,
      preheader: data.preheader,
      pin: data.pin,
      exclude: data.exclude,
      guides: data.guides,
      sponsor: data.sponsor,
      letter: parsed.body === '' ? undefined : parsed.body,
    });
  }
  return editions;
}
