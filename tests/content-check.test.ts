import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

  test('counts are said in words that agree: 1 news item, 1 guide', async () => {
    const dir = writeContent([{ slug: 'only', published: '2026-11-23T10:00:00Z' }], [{ slug: 'fine' }]);
    const { code, stdout } = await almanac(['content', 'check', '--content', dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok: 1 news item and 1 guide in .* are valid$/m);
  });

  test('an empty content directory is a problem, not an empty newsletter', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'news'));
    const { problems } = await loadContent(dir);
    expect(problems[0]).toMatch(/no content files/);
  });
});

const NEWS_FIELDS = 'source: Wire\npublished: 2026-11-23T10:00:00Z\nscore: 5\ntopics: [x]';

/** Writes content/news/<name> with the given front matter lines and a one-line summary. */
function newsFile(dir: string, name: string, front: string, summary = 'Summary.'): void {
  writeFileSync(join(dir, 'news', name), `---\n${front}\n---\n${summary}\n`);
}

describe('content check reads each file as far as it can', () => {
  test("the front matter ends only at a line that is '---' alone", async () => {
    const dir = writeContent([], [{ slug: 'fine' }]);
    newsFile(dir, 'dashes-in-title.md', `title: Wait for it---\nurl: https://a.example/dashes\n${NEWS_FIELDS}`);
    writeFileSync(join(dir, 'news', 'crlf.md'), `---\r\ntitle: Windows line ends\r\nurl: https://a.example/crlf\r\n${NEWS_FIELDS.replace(/\n/g, '\r\n')}\r\n---  \r\nBody.\r\n`);
    const { content, problems } = await loadContent(dir);
    expect(problems).toEqual([]);
    const item = content.news.find((n) => n.slug === 'dashes-in-title');
    expect(item).toMatchObject({ title: 'Wait for it---', url: 'https://a.example/dashes', score: 5, topics: ['x'], summary: 'Summary.' });
    expect(content.news.find((n) => n.slug === 'crlf')?.summary).toBe('Body.');
  });

  test('an unclosed front matter block is said to be not closed', async () => {
    const dir = writeContent([], [{ slug: 'fine' }]);
    writeFileSync(join(dir, 'news', 'unclosed.md'), `---\ntitle: T\nurl: https://a.example/u\n${NEWS_FIELDS}\n\nThe summary, with no closing line above it.\n`);
    const { problems } = await loadContent(dir);
    expect(problems).toEqual([expect.stringMatching(/news\/unclosed\.md: front matter: the '---' block on line 1 is not closed/)]);
  });

  test('a YAML error or an alias bomb is a problem of that file; the other files are still checked', async () => {
    const dir = writeContent([{ slug: 'good', published: '2026-11-23T10:00:00Z' }], [{ slug: 'fine' }]);
    newsFile(dir, 'bad-yaml.md', `title: "never closed\nurl: https://a.example/y\n${NEWS_FIELDS}`);
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g'], ['g', 'h']]) {
      lol.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    newsFile(dir, 'billion-laughs.md', `${lol.join('\n')}\ntitle: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\nurl: https://a.example/lol\n${NEWS_FIELDS}`);
    newsFile(dir, 'score-zero.md', `title: T\nurl: https://a.example/z\n${NEWS_FIELDS.replace('score: 5', 'score: 0')}`);
    const { content, problems } = await loadContent(dir);
    expect(problems.find((p) => p.includes('bad-yaml.md'))).toMatch(/news\/bad-yaml\.md: front matter: invalid YAML on line \d+ \(.+\)/);
    expect(problems.find((p) => p.includes('billion-laughs.md'))).toMatch(/news\/billion-laughs\.md: front matter: invalid YAML \(.*alias.*\)/i);
    expect(problems.find((p) => p.includes('score-zero.md'))).toMatch(/score: expected an integer from 1 to 10, found number 0/);
    expect(problems).toHaveLength(3);
    expect(content.news.map((n) => n.slug)).toEqual(['good']);
  });

  test('a content file over 1 MB is refused with its size, without being parsed', async () => {
    const dir = writeContent([], [{ slug: 'fine' }]);
    newsFile(dir, 'huge.md', `title: T\nurl: https://a.example/huge\n${NEWS_FIELDS}`, 'word '.repeat(220_000));
    const size = statSync(join(dir, 'news', 'huge.md')).size;
    const { content, problems } = await loadContent(dir);
    expect(problems).toEqual([`${join(dir, 'news', 'huge.md')}: file: expected at most 1048576 bytes (1 MB), found ${size} bytes; not read`]);
    expect(content.news).toEqual([]);
  });

  test('a duplicate url is reported together with the other problems of the same file', async () => {
    const dir = writeContent([{ slug: 'first', published: '2026-11-23T10:00:00Z', url: 'https://news.example/story' }], [{ slug: 'fine' }]);
    newsFile(dir, 'second.md', `title: T\nurl: https://news.example/story#again\n${NEWS_FIELDS.replace('score: 5', 'score: 11')}`);
    const { problems } = await loadContent(dir);
    expect(problems).toEqual([
      expect.stringMatching(/news\/second\.md: score: expected an integer from 1 to 10, found number 11/),
      expect.stringMatching(/news\/second\.md: url: expected a URL no other news item uses, found https:\/\/news\.example\/story#again \(also in .*first\.md\)/),
    ]);
  });

  test.each(['Upper-Case.md', 'snake_case.md', 'double--hyphen.md', 'with space.md', '-leading.md'])(
    'a file name that is not lowercase kebab-case is refused: %s',
    async (name) => {
      const dir = writeContent([], [{ slug: 'fine' }]);
      newsFile(dir, name, `title: T\nurl: https://a.example/n\n${NEWS_FIELDS}`);
      const { content, problems } = await loadContent(dir);
      expect(problems).toEqual([expect.stringContaining(`${name}: file name: expected lowercase kebab-case`)]);
      expect(content.news).toEqual([]);
    },
  );

  test('one run of the CLI lists all of these at once', async () => {
    const dir = writeContent([{ slug: 'first', published: '2026-11-23T10:00:00Z', url: 'https://news.example/story' }], [{ slug: 'fine' }]);
    newsFile(dir, 'second.md', `title: T\nurl: https://news.example/story\n${NEWS_FIELDS.replace('score: 5', 'score: 11')}`);
    newsFile(dir, 'Bad_Name.md', `title: T\nurl: https://a.example/n\n${NEWS_FIELDS}`);
    writeFileSync(join(dir, 'news', 'unclosed.md'), `---\ntitle: T\n`);
    newsFile(dir, 'bad-yaml.md', 'title: [unclosed');
    const { code, stdout } = await almanac(['content', 'check', '--content', dir]);
    expect(code).not.toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const [file, field] of [['second.md', 'score'], ['second.md', 'url'], ['Bad_Name.md', 'file name'], ['unclosed.md', 'front matter'], ['bad-yaml.md', 'front matter']]) {
      expect(lines.some((l) => l.includes(`${file}: ${field}:`)), `${file} ${field}\n${stdout}`).toBe(true);
    }
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
    for (const n of json.news) expect(Object.keys(n).sort()).toEqual(['pinned', 'published', 'score', 'slug', 'title', 'topics', 'url', 'why']);
    for (const g of json.guides) expect(Object.keys(g).sort()).toEqual(['readingMinutes', 'related', 'slug', 'title']);
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['letter', 'sponsor', 'editionFile']));
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
