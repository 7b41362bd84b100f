import { describe, expect, test } from 'vitest';
import { editionOn } from '../src/editions/calendar.ts';
import { compose, PREHEADER_MAX } from '../src/editions/compose.ts';
import { loadValidContent } from '../src/content/loader.ts';
import { testConfig, writeContent, type NewsFixture } from './helpers.ts';

const utc = testConfig();
// Midweek 2026-11-25 07:00 UTC; its window opens after Sunday 2026-11-22 08:00 UTC.
const MIDWEEK = '2026-11-25';

async function composeWith(news: NewsFixture[], guides: Parameters<typeof writeContent>[1] = [], kind: 'midweek' | 'sunday' = 'midweek', date = MIDWEEK, config = utc) {
  const content = await loadValidContent(writeContent(news, guides));
  return compose(content, editionOn(kind, date, config));
}

describe('window edges', () => {
  test('an item published exactly at the previous Sunday send instant is out; exactly at this send instant is in', async () => {
    const edition = await composeWith([
      { slug: 'at-previous-sunday', published: '2026-11-22T08:00:00Z' },
      { slug: 'just-after-sunday', published: '2026-11-22T08:00:01Z' },
      { slug: 'at-send-instant', published: '2026-11-25T07:00:00Z' },
      { slug: 'after-send-instant', published: '2026-11-25T07:00:01Z' },
    ]);
    expect(edition.news.map((n) => n.slug).sort()).toEqual(['at-send-instant', 'just-after-sunday']);
  });

  test('offsets are honoured: 09:00+02:00 is 07:00Z, inside the window edge', async () => {
    const edition = await composeWith([{ slug: 'offset', published: '2026-11-25T09:00:00+02:00' }]);
    expect(edition.news).toHaveLength(1);
  });

  test('a DST week in America/New_York: the window runs from 12:00Z (EDT) to 13:00Z (EST)', async () => {
    const ny = testConfig({ ALMANAC_TIMEZONE: 'America/New_York' });
    const edition = await composeWith(
      [
        { slug: 'edt-edge', published: '2026-10-25T12:00:00Z' }, // previous Sunday 08:00 EDT: out
        { slug: 'after-edt-edge', published: '2026-10-25T12:30:00Z' },
        { slug: 'est-edge', published: '2026-11-01T13:00:00Z' }, // this Sunday 08:00 EST: in
        { slug: 'after-est-edge', published: '2026-11-01T13:00:01Z' },
      ],
      [],
      'sunday',
      '2026-11-01',
      ny,
    );
    expect(edition.id).toBe('2026-11-01-sunday');
    expect(edition.news.map((n) => n.slug).sort()).toEqual(['after-edt-edge', 'est-edge']);
  });
});

describe('ranking', () => {
  test('score descending, then newest, then title ascending', async () => {
    const edition = await composeWith([
      { slug: 'b', title: 'Bravo', published: '2026-11-23T10:00:00Z', score: 7 },
      { slug: 'a', title: 'Alpha', published: '2026-11-23T10:00:00Z', score: 7 },
      { slug: 'newer', title: 'Zulu', published: '2026-11-24T10:00:00Z', score: 7 },
      { slug: 'top', title: 'Yankee', published: '2026-11-22T09:00:00Z', score: 9 },
      { slug: 'low', title: 'Aardvark', published: '2026-11-24T23:00:00Z', score: 2 },
    ]);
    expect(edition.news.map((n) => n.slug)).toEqual(['top', 'newer', 'a', 'b', 'low']);
  });

  test.each([
    ['midweek', MIDWEEK, 6, 1],
    ['sunday', '2026-11-29', 12, 3],
  ] as const)('%s keeps %i news items and %i guide(s)', async (kind, date, newsLimit, guideLimit) => {
    const news = Array.from({ length: 20 }, (_, i) => ({
      slug: `n${i}`,
      published: `2026-11-23T${String(i).padStart(2, '0')}:00:00Z`,
      score: (i % 10) + 1,
      topics: [`t${i % 5}`],
    }));
    const guides = Array.from({ length: 5 }, (_, i) => ({ slug: `g${i}`, topics: [`t${i}`] }));
    const edition = await composeWith(news, guides, kind, date);
    expect(edition.news).toHaveLength(newsLimit);
    expect(edition.guides).toHaveLength(guideLimit);
  });

  test('the same content and date give the same edition', async () => {
    const dir = writeContent(
      Array.from({ length: 15 }, (_, i) => ({ slug: `n${i}`, published: '2026-11-23T10:00:00Z', score: 5, topics: ['x'] })),
      [{ slug: 'g', topics: ['x'] }],
    );
    const slot = editionOn('sunday', '2026-11-29', utc);
    const one = compose(await loadValidContent(dir), slot);
    const two = compose(await loadValidContent(dir), slot);
    expect(two).toEqual(one);
  });
});

describe('guide pairing', () => {
  const news: NewsFixture[] = [
    { slug: 'big', published: '2026-11-23T10:00:00Z', score: 9, topics: ['claude'] },
    { slug: 'mid-1', published: '2026-11-23T11:00:00Z', score: 5, topics: ['gpt-4o'] },
    { slug: 'mid-2', published: '2026-11-23T12:00:00Z', score: 5, topics: ['gpt-4o', 'openai'] },
    { slug: 'lone', published: '2026-11-23T13:00:00Z', score: 4, topics: ['unpaired'] },
  ];

  test('guides rank by the sum of their paired items\' scores; related lists the paired items in edition order', async () => {
    const edition = await composeWith(
      news,
      [
        { slug: 'claude', topics: ['claude'], updated: '2026-11-20T00:00:00Z' },
        { slug: 'gpt-4o', topics: ['gpt-4o', 'openai'], updated: '2026-11-01T00:00:00Z' },
        { slug: 'other', topics: ['nothing'], updated: '2026-11-24T00:00:00Z' },
      ],
      'sunday',
      '2026-11-29',
    );
    expect(edition.guides.map((g) => g.guide.slug)).toEqual(['gpt-4o', 'claude']);
    expect(edition.guides[0]!.related.map((n) => n.slug)).toEqual(['mid-2', 'mid-1']);
  });

  test('ties on score sum go to the most recently updated guide, then slug', async () => {
    const edition = await composeWith(
      [{ slug: 'x', published: '2026-11-23T10:00:00Z', topics: ['shared'] }],
      [
        { slug: 'b-old', topics: ['shared'], updated: '2026-11-01T00:00:00Z' },
        { slug: 'z-new', topics: ['shared'], updated: '2026-11-10T00:00:00Z' },
        { slug: 'a-new', topics: ['shared'], updated: '2026-11-10T00:00:00Z' },
      ],
      'sunday',
      '2026-11-29',
    );
    expect(edition.guides.map((g) => g.guide.slug)).toEqual(['a-new', 'z-new', 'b-old']);
  });

  test('when no guide pairs, the most recently updated guide is featured', async () => {
    const edition = await composeWith(
      [{ slug: 'lone', published: '2026-11-23T10:00:00Z', topics: ['unpaired'] }],
      [
        { slug: 'older', topics: ['a'], updated: '2026-11-01T00:00:00Z' },
        { slug: 'newest', topics: ['b'], updated: '2026-11-20T00:00:00Z' },
      ],
      'sunday',
      '2026-11-29',
    );
    expect(edition.guides.map((g) => [g.guide.slug, g.related.length])).toEqual([['newest', 0]]);
  });
});

describe('subject, preheader and empty editions', () => {
  test('the subject leads with the top story; the preheader differs and fits in 150 characters', async () => {
    const edition = await composeWith(
      Array.from({ length: 6 }, (_, i) => ({
        slug: `n${i}`,
        title: `A rather long headline number ${i} about frontier models and their many benchmarks`,
        published: '2026-11-23T10:00:00Z',
        score: 9 - i,
        topics: ['x'],
      })),
      [{ slug: 'g', title: 'The Guide', topics: ['x'] }],
    );
    expect(edition.subject).toContain('headline number 0');
    expect(edition.preheader).not.toBe(edition.subject);
    expect(edition.preheader.length).toBeLessThanOrEqual(PREHEADER_MAX);
    expect(edition.preheader).toContain('The Guide');
  });

  test('an edition with no news in its window is empty', async () => {
    const edition = await composeWith([{ slug: 'old', published: '2026-11-01T10:00:00Z' }], [{ slug: 'g' }]);
    expect(edition.empty).toBe(true);
    expect(edition.news).toEqual([]);
  });
});
