import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { guideUrl } from '../emails/_components/edition-layout.tsx';
import { loadContent } from '../src/content/loader.ts';
import { almanac } from './cli.ts';
import { tempDir, writeContent } from './helpers.ts';

function brokenContent(): string {
  const dir = writeContent(
    [
      { slug: 'good', published: '2026-11-23T10:00:00Z', url: 'https://news.example/same' },
      { slug: 'same-url', published: '2026-11-23T11:00:00Z', url: 'https://news.example/same/' },
    ],
    [{ slug: 'fine' }],
  );
  const news = (name: string, front: string) => writeFileSync(join(dir, 'news', name), `---\n${front}\n---\nSummary.\n`);
  news('no-title.md', 'source: Wire\nurl: https://a.example/1\npublished: 2026-11-23T10:00:00Z\nscore: 5\ntopics: [x]');
  news('score-11.md', 'title: T\nsource: Wire\nurl: https://a.example/2\npublished: 2026-11-23T10:00:00Z\nscore: 11\ntopics: [x]');
  news('bad-url.md', 'title: T\nsource: Wire\nurl: not a url\npublished: 2026-11-23T10:00:00Z\nscore: 5');
  news('js-url.md', 'title: T\nsource: Wire\nurl: javascript:alert(1)\npublished: 2026-11-23T10:00:00Z\nscore: 5');
  news('bad-date.md', 'title: T\nsource: Wire\nurl: https://a.example/3\npublished: next tuesday\nscore: 5');
  writeFileSync(join(dir, 'news', 'no-front-matter.md'), 'Just text.\n');
  writeFileSync(
    join(dir, 'guides', 'takeaways-string.md'),
    '---\ntitle: G\nkind: In-depth\nupdated: 2026-11-01T00:00:00Z\ntopics: [x]\ntldr: T.\ntakeaways: one long string\n---\n## Recent developments\nSomething.\n',
  );
  writeFileSync(
    join(dir, 'guides', 'no-recent.md'),
    '---\ntitle: G\nkind: In-depth\nupdated: 2026-11-01T00:00:00Z\ntopics: [x]\ntldr: T.\ntakeaways: [a, b]\n---\n## What it is\nBody.\n',
  );
  return dir;
}

describe('content check', () => {
  test('reports every problem at once, one line per problem naming the file and the field', async () => {
    const { problems } = await loadContent(brokenContent());
    const expected: [string, string][] = [
      ['news/no-title.md', 'title'],
      ['news/score-11.md', 'score'],
      ['news/bad-url.md', 'url'],
      ['news/js-url.md', 'url'],
      ['news/bad-date.md', 'published'],
      ['news/no-front-matter.md', 'front matter'],
      ['news/same-url.md', 'url'],
      ['guides/takeaways-string.md', 'takeaways'],
      ['guides/no-recent.md', 'body'],
    ];
    for (const [file, field] of expected) {
      expect(problems.some((p) => p.includes(file) && p.includes(`: ${field}:`)), `${file} ${field}\n${problems.join('\n')}`).toBe(true);
    }
    expect(problems).toHaveLength(expected.length);
    expect(problems.find((p) => p.includes('score-11'))).toMatch(/expected an integer from 1 to 10, found number 11/);
    expect(problems.find((p) => p.includes('same-url'))).toMatch(/also in .*good\.md/);
  });

  test('the CLI exits non-zero with those lines, and 0 on the shipped content', async () => {
    const bad = await almanac(['content', 'check', '--content', brokenContent()]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout.trim().split('\n')).toHaveLength(9);
    const good = await almanac(['content', 'check']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/valid/);
  });

  test('nothing is composed from invalid content', async () => {
    const result = await almanac(['compose', 'midweek', '--date', '2026-11-25', '--content', brokenContent()]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/score-11\.md: score/);
  });

  test('an empty content directory is a problem, not an empty newsletter', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'news'));
    const { problems } = await loadContent(dir);
    expect(problems[0]).toMatch(/no content files/);
  });
});

describe('compose as a real process', () => {
  test.each(['midweek', 'sunday'])('compose %s --json prints the DESIGN.md shape', async (kind) => {
    const { code, stdout } = await almanac(['compose', kind, '--date', '2026-11-22', '--json']);
    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['id', 'kind', 'sendAt', 'window', 'subject', 'preheader', 'news', 'guides']));
    expect(json.kind).toBe(kind);
    expect(json.id).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}-${kind}$`));
    expect(new Date(json.sendAt).toISOString()).toBe(json.sendAt);
    expect(Object.keys(json.window)).toEqual(['from', 'to']);
    expect(json.news.length).toBeGreaterThan(0);
    for (const n of json.news) expect(Object.keys(n).sort()).toEqual(['published', 'score', 'title', 'topics', 'url']);
    for (const g of json.guides) expect(Object.keys(g).sort()).toEqual(['related', 'slug', 'title']);
    expect(json.preheader.length).toBeLessThanOrEqual(150);
  });

  test('an empty window is said clearly', async () => {
    const { code, stdout } = await almanac(['compose', 'sunday', '--date', '2030-01-06']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/empty/);
  });

  test('a bad configuration value stops the program with one line naming the variable', async () => {
    const tz = await almanac(['compose', 'midweek'], { ALMANAC_TIMEZONE: 'Mars/Olympus' });
    expect(tz.code).toBe(2);
    expect(tz.stderr.trim().split('\n')).toHaveLength(1);
    expect(tz.stderr).toMatch(/ALMANAC_TIMEZONE: expected an IANA time zone.*found "Mars\/Olympus"/);
    const url = await almanac(['compose', 'midweek'], { ALMANAC_BASE_URL: 'ftp://x' });
    expect(url.stderr).toMatch(/ALMANAC_BASE_URL: expected an absolute http\(s\) URL.*found "ftp:\/\/x"/);
  });
});

describe('the shipped content', () => {
  test('no file points at the placeholder domain almanac.example', () => {
    const files = ['news', 'guides'].flatMap((sub) => readdirSync(join('content', sub)).map((f) => join('content', sub, f)));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((file) => readFileSync(file, 'utf8').includes('almanac.example'));
    expect(offenders).toEqual([]);
  });

  test("every guide's link follows ALMANAC_BASE_URL (the archive site's guide page)", async () => {
    const { content, problems } = await loadContent('content');
    expect(problems).toEqual([]);
    for (const guide of content.guides) {
      expect(guideUrl('https://news.operator.test', guide)).toBe(`https://news.operator.test/guides/${guide.slug}`);
    }
  });
});
