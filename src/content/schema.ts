import { z } from 'zod';

/** ISO 8601 date-time with `Z` or an offset, e.g. 2026-11-18T18:00:00Z. */
const dateTime = z.iso.datetime({ offset: true, local: false });
const httpUrl = z.url({ protocol: /^https?$/, normalize: false });
const topic = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);
const slug = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);
const httpsUrl = z.url({ protocol: /^https$/, normalize: false });

/** A news item's `why` is one sentence. */
export const WHY_MAX = 300;
/** The longest subject or preheader an edition file may set (the preheader's limit, src/editions/compose.ts PREHEADER_MAX). */
export const OVERRIDE_MAX = 150;

/** Where an edition's sponsor block sits: above the news, between the news and the guides, or after the guides. */
export const SPONSOR_POSITIONS = ['top', 'middle', 'end'] as const;

/** The front matter of `content/news/<slug>.md`. */
export const newsFrontMatter = z.object({
  title: z.string().trim().min(1),
  source: z.string().trim().min(1),
  url: httpUrl,
  published: dateTime,
  score: z.number().int().min(1).max(10),
  topics: z.array(topic).default([]),
  /** One sentence: why the story matters, shown under its summary. */
  why: z.string().trim().min(1).max(WHY_MAX).optional(),
});

/** The front matter of `content/guides/<slug>.md`. */
export const guideFrontMatter = z.object({
  title: z.string().trim().min(1),
  kind: z.string().trim().min(1).default('In-depth'),
  updated: dateTime,
  topics: z.array(topic).default([]),
  tldr: z.string().trim().min(1),
  takeaways: z.array(z.string().trim().min(1)).min(1),
  url: httpUrl.optional(),
});

/**
 * The front matter of `content/editions/<edition-id>.md`: what the editors decide for one edition.
 * Strict: a misspelt field (`pinned:`) is reported instead of silently doing nothing.
 */
export const editionFrontMatter = z
  .object({
    subject: z.string().trim().min(1).max(OVERRIDE_MAX).optional(),
    preheader: z.string().trim().min(1).max(OVERRIDE_MAX).optional(),
    pin: z.array(slug).default([]),
    exclude: z.array(slug).default([]),
    guides: z.array(slug).min(1).optional(),
    sponsor: z
      .object({
        name: z.string().trim().min(1).max(80),
        url: httpsUrl,
        text: z.string().trim().min(1).max(400),
        position: z.enum(SPONSOR_POSITIONS).default('middle'),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What an editor is told each field should be. */
export const EXPECTED: Record<string, string> = {
  title: 'a non-empty text',
  source: 'the publication name',
  url: 'an absolute http(s) URL',
  published: 'an ISO 8601 date-time with Z or an offset, e.g. 2026-11-18T18:00:00Z',
  updated: 'an ISO 8601 date-time with Z or an offset, e.g. 2026-11-23T09:00:00Z',
  score: 'an integer from 1 to 10',
  topics: 'a list of lowercase slugs such as [gpt-4o, openai]',
  'topics[]': 'a lowercase slug such as gpt-4o',
  kind: 'a text such as In-depth',
  tldr: 'a non-empty text',
  takeaways: 'a list of one or more texts',
  'takeaways[]': 'a non-empty text',
  why: `one sentence (at most ${WHY_MAX} characters) saying why the story matters`,
  subject: `a non-empty text of at most ${OVERRIDE_MAX} characters`,
  preheader: `a non-empty text of at most ${OVERRIDE_MAX} characters`,
  pin: 'a list of news slugs such as [gpt-4o-launch]',
  'pin[]': 'a news slug (a file name in news/ without .md)',
  exclude: 'a list of news slugs such as [gpt-4o-launch]',
  'exclude[]': 'a news slug (a file name in news/ without .md)',
  guides: 'a list of one or more guide slugs such as [gpt-4o]',
  'guides[]': 'a guide slug (a file name in guides/ without .md)',
  sponsor: 'a mapping with name, url, text and optionally position',
  'sponsor.name': 'the sponsor\'s name, a non-empty text of at most 80 characters',
  'sponsor.url': 'an absolute https URL',
  'sponsor.text': 'a non-empty text of at most 400 characters',
  'sponsor.position': `one of ${SPONSOR_POSITIONS.join(', ')} (default middle)`,
};

/** A short description of a value found in front matter, for error lines. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return 'a nested mapping';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 80 ? `${text.slice(0, 77)}…` : text}`;
}
