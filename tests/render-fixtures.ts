import type { NewsFixture, GuideFixture } from './helpers.ts';
import { testConfig, writeContent } from './helpers.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import type { Kind } from '../src/config.ts';
import type { RenderOptions } from '../src/render/types.ts';

/** The Sunday edition of 2026-11-29 covers 2026-11-22T08:00Z < published <= 2026-11-29T08:00Z. */
export const SUNDAY = '2026-11-29';
/** The Midweek edition of 2026-11-25 covers 2026-11-22T08:00Z < published <= 2026-11-25T07:00Z. */
export const MIDWEEK = '2026-11-25';

const TOPICS = [['gpt-4o', 'openai'], ['claude', 'anthropic'], ['open-weights', 'mistral']];

/** Fourteen ordinary items in both windows (Sunday keeps 12) plus extra rich Markdown. */
export function fullNews(): NewsFixture[] {
  return Array.from({ length: 14 }, (_, i) => ({
    slug: `story-${String(i + 1).padStart(2, '0')}`,
    title: `Headline number ${i + 1}: something happened`,
    source: i % 2 ? 'Test Wire' : 'Example Times',
    url: `https://news.example/2026/11/story-${i + 1}`,
    published: `2026-11-${String(22 + (i % 3)).padStart(2, '0')}T${String(9 + (i % 10)).padStart(2, '0')}:00:00Z`,
    score: 10 - (i % 10),
    topics: TOPICS[i % 3],
    summary: `Summary of story ${i + 1} with **bold** text and [a link](https://link.example/${i + 1}).\n\nA second paragraph for story ${i + 1}.`,
  }));
}

/** Three guides, each paired with some of the news. */
export function fullGuides(): GuideFixture[] {
  return TOPICS.map((topics, i) => ({
    slug: `guide-${i + 1}`,
    title: `Guide ${i + 1}: the long view`,
    topics,
    tldr: `TL;DR sentence of guide ${i + 1}.`,
    takeaways: [`Takeaway A of guide ${i + 1}.`, `Takeaway B of guide ${i + 1}.`],
    recent: `Recent developments of guide ${i + 1}, with a [source](https://recent.example/${i + 1}).`,
  }));
}

/** Hostile content: scripts in titles, raw HTML, javascript: links, an onerror image. */
export function hostileNews(): NewsFixture[] {
  return [
    {
      slug: 'hostile-title',
      title: 'Injected <script>alert(1)</script>',
      published: '2026-11-23T10:00:00Z',
      score: 10,
      topics: ['gpt-4o'],
      summary: [
        'Click [here](javascript:alert(2)) or [there](JaVaScRiPt:alert(3)) or [data](data:text/html,<script>alert(4)</script>).',
        '',
        '<img src=x onerror=alert(5)>',
        '',
        '<script>alert(6)</script>',
        '',
        '<a href="javascript:alert(7)" onclick="alert(8)">raw link text</a> and <iframe src="https://evil.example"></iframe>',
        '',
        '![tracking pixel](https://evil.example/pixel.png "t") and <style>@import url(https://evil.example/x.css)</style>',
      ].join('\n'),
    },
    {
      slug: 'hostile-source',
      title: '"><svg onload=alert(9)>',
      source: '<b onmouseover=alert(10)>Wire</b>',
      url: 'https://news.example/hostile?x=1&y=<2>',
      published: '2026-11-23T11:00:00Z',
      score: 9,
      topics: ['gpt-4o'],
    },
  ];
}

/** The rendering options used in tests. */
export const SITE: RenderOptions = { baseUrl: 'https://almanac.example', postalAddress: '1 Test Street, Testville 12345', timezone: 'UTC' };

/** Composes an edition from fixtures with fixed dates. */
export async function fixtureEdition(kind: Kind, news: NewsFixture[], guides: GuideFixture[]) {
  const dir = writeContent(news, guides);
  const config = testConfig({ ALMANAC_CONTENT_DIR: dir, ALMANAC_BASE_URL: SITE.baseUrl, ALMANAC_POSTAL_ADDRESS: SITE.postalAddress });
  const { edition } = await composeEdition(kind, kind === 'sunday' ? SUNDAY : MIDWEEK, config, dir);
  return { edition, config, dir };
}
