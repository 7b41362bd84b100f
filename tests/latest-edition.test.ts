import { describe, expect, test } from 'vitest';
import { almanac } from './cli.ts';
import { tempDir, writeContent } from './helpers.ts';

const DAY = 86_400_000;

describe('--latest: the most recent edition of a kind that has news, not after now, on any day', () => {
  test('compose picks the latest edition with news when the next one is still empty', async () => {
    const published = new Date(Date.now() - 17 * DAY).toISOString();
    const dir = writeContent([{ slug: 'old-news', title: 'Old news', published, score: 7, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    const next = await almanac(['compose', 'midweek', '--json', '--content', dir]);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).news).toEqual([]);

    const latest = await almanac(['compose', 'midweek', '--latest', '--json', '--content', dir]);
    expect(latest.code, latest.stderr).toBe(0);
    const edition = JSON.parse(latest.stdout);
    expect(edition.news.map((n: { title: string }) => n.title)).toEqual(['Old news']);
    expect(new Date(edition.sendAt).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(edition.sendAt).getTime()).toBeGreaterThan(Date.parse(published));
  });

  test('the shipped content gives every kind a latest edition, and preview writes it', async () => {
    for (const kind of ['midweek', 'sunday']) {
      const r = await almanac(['compose', kind, '--latest', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).news.length).toBeGreaterThan(0);
    }
    const out = tempDir();
    const preview = await almanac(['preview', 'midweek', '--latest', '--out', out]);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/midweek\.html/);
  });

  test('--latest with --date is a usage error; content without any news says so', async () => {
    const both = await almanac(['compose', 'sunday', '--latest', '--date', '2026-11-22']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--date and --latest/);

    const future = new Date(Date.now() + 30 * DAY).toISOString();
    const dir = writeContent([{ slug: 'later', title: 'Later', published: future, score: 5, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    const none = await almanac(['send', 'sunday', '--latest', '--dry-run', '--content', dir], { ALMANAC_DB: `${tempDir()}/a.db` });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no sunday edition up to .* has any news/);
  });
});
