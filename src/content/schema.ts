import { z } from 'zod';

/** ISO 8601 date-time with `Z` or an offset, e.g. 2026-11-18T18:00:00Z. */
const dateTime = z.iso.datetime({ offset: true, local: false });
const httpUrl = z.url({ protocol: /^https?$/, normalize: false });
const topic = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);

/** The front matter of `content/news/<slug>.md`. */
export const newsFrontMatter = z.object({
  title: z.string().trim().min(1),
  source: z.string().trim().min(1),
  url: httpUrl,
  published: dateTime,
  score: z.number().int().min(1).max(10),
  topics: z.array(topic).default([]),
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
