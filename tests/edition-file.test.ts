import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadValidContent } from '../src/content/loader.ts';
import { readingMinutes } from '../src/content/reading-time.ts';
import { editionOn } from '../src/editions/calendar.ts';
import { compose } from '../src/editions/compose.ts';
import { kindWeekdays } from '../src/editions/edition-for.ts';
import { preSendChecks } from '../src/render/checks.ts';
import { personalise, renderEdition } from '../src/render/render-edition.ts';
import { trackEdition } from '../src/tracking/setup.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { almanac } from './cli.ts';
import { address, seedSubscribers } from './delivery-fixtures.ts';
import { editionText, htmlPart, subjectOf, writeEditionFile } from './edition-fixtures.ts';
import { tempDir, testConfig, writeContent, type NewsFixture } from './helpers.ts';
import { SITE } from './render-fixtures.ts';
import { startSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget, openTracked } from './store-db.ts';

const MIDWEEK = '2026-11-25';
const ID = '2026-11-25-midweek';

/** Eight items in the Midweek window of 2026-11-25 (Midweek keeps 6), ranked n1 (score 9) … n8 (score 2); n9 is last week's. */
function news(): NewsFixture[] {
  const items: NewsFixture[] = Array.from({ length: 8 }, (_, i) => ({
    slug: `n${i + 1}`,
    title: `Story ${i + 1}`,
    published: `2026-11-23T${String(10 + i).padStart(2, '0')}:00:00Z`,
    score: 9 - i,
    topics: [i % 2 ? 'odd' : 'even'],
  }));
  items.push({ slug: 'n9', title: 'Story 9 from last week', published: '2026-11-18T10:00:00Z', score: 10, topics: ['even'] });
  return items;
}

const GUIDES = [
  { slug: 'even-guide', title: 'The even guide', topics: ['even'], updated: '2026-11-20T00:00:00Z' },
  { slug: 'odd-guide', title: 'The odd guide', topics: ['odd'], updated: '2026-11-01T00:00:00Z' },
  { slug: 'lonely-guide', title: 'The lonely guide', topics: ['none'], updated: '2026-10-01T00:00:00Z' },
];

const FULL_FILE = [
  'subject: "The editors\' own subject line"',
  'preheader: Chosen by hand for this issue',
  'pin: [n8, n9]',
  'exclude: [n1]',
  'guides: [lonely-guide, odd-guide]',
  'sponsor:',
  '  name: Example Compute',
  '  url: https://sponsor.example/almanac',
  '  text: GPUs by the hour for readers of this newsletter.',
  '  position: top',
].join('\n');

const LETTER = 'Dear friends,\n\nThis week we **start** with the [oldest](https://letter.example/oldest) story. <script>alert(1)</script>[bad](javascript:alert(1))';

function contentWithFile(front = FULL_FILE, letter = LETTER): string {
  const dir = writeContent(news(), GUIDES);
  writeEditionFile(dir, ID, front, letter);
  return dir;
}

async function composed(dir: string) {
  const config = testConfig();
  const content = await loadValidContent(dir, { weekdays: kindWeekdays(config) });
  return compose(content, editionOn('midweek', MIDWEEK, config));
}

describe('an edition file shapes the edition', () => {
  test('pin keeps items on top in order (beyond the window and the limit), exclude drops, guides replace the automatic choice, subject and preheader override', async () => {
    const edition = await composed(contentWithFile());
    // n8 and n9 pinned first; n1 excluded; then the ranked rest up to 6 in all.
    expect(edition.news.map((n) => n.slug)).toEqual(['n8', 'n9', 'n2', 'n3', 'n4', 'n5']);
    expect(edition.guides.map((g) => g.guide.slug)).toEqual(['lonely-guide', 'odd-guide']);
    expect(edition.guides[1]!.related.map((n) => n.slug)).toEqual(['n8', 'n2', 'n4']);
    expect(edition.subject).toBe("The editors' own subject line");
    expect(edition.preheader).toBe('Chosen by hand for this issue');
    expect(edition.sponsor).toEqual({ name: 'Example Compute', url: 'https://sponsor.example/almanac', text: 'GPUs by the hour for readers of this newsletter.', position: 'top' });
    expect(edition.letter).toContain('Dear friends,');

    const many = await composed(contentWithFile('pin: [n8, n7, n6, n5, n4, n3, n2]', ''));
    expect(many.news.map((n) => n.slug)).toEqual(['n8', 'n7', 'n6', 'n5', 'n4', 'n3', 'n2']); // 7 > the Midweek's 6
    expect(many.letter).toBeUndefined();
  });

  test('without an edition file the rules alone compose it (score order, automatic guide); a file for another edition changes nothing', async () => {
    const dir = writeContent(news(), GUIDES);
    writeEditionFile(dir, '2026-12-02-midweek', 'pin: [n8]');
    const edition = await composed(dir);
    expect(edition.news.map((n) => n.slug)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
    expect(edition.guides.map((g) => g.guide.slug)).toEqual(['even-guide']);
    expect(edition.choices).toBeUndefined();
    expect(edition.subject).toBe('Almanac Midweek: Story 1');
  });

  test('compose --json shows each news slug, the letter, the sponsor and which choices came from the file', async () => {
    const dir = contentWithFile();
    const run = await almanac(['compose', 'midweek', '--date', MIDWEEK, '--json', '--content', dir]);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json.news.map((n: { slug: string }) => n.slug)).toEqual(['n8', 'n9', 'n2', 'n3', 'n4', 'n5']);
    expect(json.news.map((n: { pinned: boolean }) => n.pinned)).toEqual([true, true, false, false, false, false]);
    expect(json.letter).toBe(LETTER);
    expect(json.sponsor).toMatchObject({ name: 'Example Compute', position: 'top' });
    expect(json.editionFile).toEqual({
      file: expect.stringMatching(/editions\/2026-11-25-midweek\.md$/),
      choices: ['subject', 'preheader', 'pin', 'exclude', 'guides', 'letter', 'sponsor'],
      pinned: ['n8', 'n9'],
      excluded: ['n1'],
    });
    const plain = JSON.parse((await almanac(['compose', 'midweek', '--date', '2026-12-02', '--json', '--content', dir])).stdout);
    expect(plain.editionFile).toBeNull();
    expect(plain.letter).toBeNull();
  });
});

describe('content check reads edition files like the others: one line per problem, naming the file and the field', () => {
  test('unknown slugs, a slug both pinned and excluded, an id that is no Midweek or Sunday date, an unknown field, a bad sponsor, a long why', async () => {
    const dir = writeContent(news(), GUIDES);
    writeEditionFile(dir, ID, 'pin: [n2, ghost]\nexclude: [n2]\nguides: [no-such-guide]\nsponsor:\n  name: S\n  url: http://sponsor.example\n  text: T\npinned: [n3]');
    writeEditionFile(dir, '2026-11-26-midweek', 'subject: A Thursday');
    writeEditionFile(dir, 'next-week', 'subject: Not an id');
    const why = 'x'.repeat(301);
    writeContent([{ slug: 'long-why', published: '2026-11-23T10:00:00Z' }], [], dir);
    const longWhy = join(dir, 'news', 'long-why.md');
    const text = readFileSync(longWhy, 'utf8').replace('topics: []', `topics: []\nwhy: ${why}`);
    (await import('node:fs')).writeFileSync(longWhy, text);

    const run = await almanac(['content', 'check', '--content', dir]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    const expected: [string, string, RegExp][] = [
      [`editions/${ID}.md`, 'pin[1]', /"ghost", which does not exist/],
      [`editions/${ID}.md`, 'exclude[0]', /not also pinned, found "n2" in both pin and exclude/],
      [`editions/${ID}.md`, 'guides[0]', /guide .*"no-such-guide", which does not exist/],
      [`editions/${ID}.md`, 'sponsor.url', /https URL, found string "http:\/\/sponsor.example"/],
      [`editions/${ID}.md`, 'pinned', /no such field/],
      ['editions/2026-11-26-midweek.md', 'file name', /on a Wednesday .*2026-11-26 is a Thursday/],
      ['editions/next-week.md', 'file name', /edition id/],
      ['news/long-why.md', 'why', /one sentence/],
    ];
    for (const [file, field, detail] of expected) {
      const line = lines.find((l) => l.includes(`${file}: ${field}:`));
      expect(line, `${file} ${field}\n${run.stdout}`).toMatch(detail);
    }
    expect(lines).toHaveLength(expected.length);
    // Nothing is composed from it.
    const refused = await almanac(['compose', 'midweek', '--date', MIDWEEK, '--content', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pin[1]');
  });

  test('an edition file with only a letter (empty front matter) is valid; ALMANAC_MIDWEEK_AT moves which dates are valid', async () => {
    const dir = writeContent(news(), GUIDES);
    writeEditionFile(dir, ID, '', 'Just a letter.');
    expect((await almanac(['content', 'check', '--content', dir])).stdout).toMatch(/1 edition file in .* are valid/);
    const thursday = await almanac(['content', 'check', '--content', dir], { ALMANAC_MIDWEEK_AT: 'thu 07:00' });
    expect(thursday.code).toBe(1);
    expect(thursday.stdout).toMatch(/2026-11-25-midweek\.md: file name: .*on a Thursday.*is a Wednesday/);
  });
});

describe('the templates show the letter, the sponsor, why it matters and reading time', () => {
  test('both parts: letter first (safe Markdown), a labelled sponsor block where the file puts it, why under the summary, "N min read"', async () => {
    const dir = writeContent(
      news().map((n) => (n.slug === 'n2' ? { ...n, summary: 'Summary of n2.' } : n)),
      GUIDES,
    );
    writeEditionFile(dir, ID, FULL_FILE.replace('position: top', 'position: end'), LETTER);
    const whyFile = join(dir, 'news', 'n2.md');
    (await import('node:fs')).writeFileSync(whyFile, readFileSync(whyFile, 'utf8').replace('topics: [odd]', 'topics: [odd]\nwhy: It changes what teams can ship this quarter.'));
    const edition = await composed(dir);
    const rendered = await renderEdition(edition, SITE);
    expect(preSendChecks(rendered)).toEqual([]);
    const copy = personalise(rendered, { unsubscribeUrl: 'https://almanac.example/u/t', preferencesUrl: 'https://almanac.example/p/t' });

    for (const part of [copy.html, copy.text]) {
      expect(part.indexOf('Dear friends,')).toBeGreaterThan(-1);
      expect(part.indexOf('Dear friends,')).toBeLessThan(part.indexOf('Story 8'));
      // The sponsor at the end: after the last guide, before the footer.
      expect(part.indexOf('Example Compute')).toBeGreaterThan(part.indexOf('The odd guide'));
      expect(part.indexOf('Example Compute')).toBeLessThan(part.indexOf('Reply to this email'));
      expect(part).toContain('GPUs by the hour for readers of this newsletter.');
      expect(part).toContain('It changes what teams can ship this quarter.');
      expect(part).not.toContain('<script>');
      expect(part).not.toContain('javascript:');
    }
    expect(copy.html).toMatch(/>Sponsor<\/p>/);
    expect(copy.text).toMatch(/^SPONSOR$/m);
    expect(copy.html).toContain('<strong>Why it matters: </strong>');
    expect(copy.text).toContain('Why it matters: It changes what teams can ship this quarter.');
    expect(copy.html).toContain('href="https://letter.example/oldest"');
    expect(copy.html).toContain('<strong>start</strong>');
    expect(copy.html).toMatch(/Guide · In-depth · 1 min read/);
    expect(copy.text).toContain('(Guide · In-depth · 1 min read)');
    // The why comes after its story's summary.
    expect(copy.text.indexOf('Why it matters')).toBeGreaterThan(copy.text.indexOf('Summary of n2.'));
  });

  test('with click tracking on, story links are rewritten but the sponsor link never is, even when it is also a story URL', async () => {
    const dir = contentWithFile(FULL_FILE.replace('https://sponsor.example/almanac', 'https://news.example/n8'));
    const edition = await composed(dir);
    const rendered = await renderEdition(edition, SITE);
    const { store } = await (await import('./store-db.ts')).freshStore('sqlite');
    const config = testConfig({ ALMANAC_BASE_URL: SITE.baseUrl, ALMANAC_TRACKING: 'clicks', ALMANAC_SECRET: 'test-secret-for-tracking' });
    const tracked = await trackEdition(store, config, edition, rendered);
    const sponsorAnchor = /<a data-almanac-sponsor="true" href="([^"]+)"/.exec(tracked.html);
    expect(sponsorAnchor?.[1]).toBe('https://news.example/n8');
    // The story itself, pinned first, is tracked.
    expect(tracked.html).toMatch(/<a href="https:\/\/almanac\.example\/r\/[^"]+"[^>]*>Story 8</);
    expect(preSendChecks(tracked)).toEqual([]);
    await (await import('./store-db.ts')).cleanUp();
  });

  test('reading time: words of the guide at 230 a minute, link targets and Markdown marks not counted, at least 1', () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');
    expect(readingMinutes(`## Heading\n${words(230 * 7)}`)).toBe(7);
    expect(readingMinutes(`[a](https://example.com/${'x/'.repeat(500)}) **b**`)).toBe(1);
    expect(readingMinutes('')).toBe(1);
  });
});

describeEachDb('an edition file in preview and in the copies sent (real SMTP)', (dialect) => {
  test('preview and every sent copy carry the subject, pinned order, letter and sponsor', async () => {
    const dir = contentWithFile();
    const smtp = await startSmtpServer();
    try {
      const db = dialect === 'sqlite' ? join(tempDir(), 'a.db') : await freshTarget('postgres');
      const store = await openTracked(db);
      await seedSubscribers(new SubscriberStore(store), [address(1), address(2)]);
      const env = { ALMANAC_DB: db, SMTP_URL: smtp.url, ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_SECRET: 'edition-file-secret-0123' };
      const out = tempDir();
      const preview = await almanac(['preview', 'midweek', '--date', MIDWEEK, '--out', out, '--content', dir], env);
      expect(preview.code, preview.stderr).toBe(0);
      const eml = readFileSync(join(out, `${ID}.eml`), 'utf8');
      const sent = await almanac(['send', 'midweek', '--date', MIDWEEK, '--content', dir], env);
      expect(sent.code, sent.stdout + sent.stderr).toBe(0);
      expect(smtp.messages).toHaveLength(2);
      for (const raw of [eml, ...smtp.messages.map((m) => m.raw)]) {
        expect(subjectOf(raw)).toBe("The editors' own subject line");
        const text = editionText(raw);
        const order = ['Dear friends,', 'SPONSOR', 'Story 8', 'Story 9 from last week', 'Story 2'].map((s) => text.indexOf(s));
        expect(order.every((at) => at > -1), text).toBe(true);
        expect([...order].sort((a, b) => a - b)).toEqual(order);
        expect(text).not.toContain('Story 1\n');
        expect(htmlPart(raw)).toContain('>Sponsor</p>');
      }
    } finally {
      await smtp.close();
    }
  });
});
