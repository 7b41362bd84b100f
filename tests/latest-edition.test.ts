import { describe, expect, test } from 'vitest';
import { almanac } from './cli.ts';
import { tempDir, writeContent } from './helpers.ts';

const DAY = 86_400_000;
/** The CLI's clock for these tests (ALMANAC_NOW, its test hook): a Monday evening, long after the shipped content. */
const NOW = '2026-12-07T23:00:00Z';
/** One instant on each day of a week (Monday to Sunday), at several hours: "on any day", checked. */
const WEEK = ['2026-12-14T06:30:00Z', '2026-12-15T12:00:00Z', '2026-12-16T07:30:00Z', '2026-12-17T18:00:00Z', '2026-12-18T23:59:00Z', '2026-12-19T07:00:00Z', '2026-12-20T08:30:00Z'];

describe('--latest: the most recent edition of a kind that has news, not after now, on any day', () => {
  test.each(WEEK)('compose picks the latest edition with news when the next one is still empty (now = %s)', async (now) => {
    const published = '2026-11-23T10:00:00Z'; // a Monday: in the window of the Midweek of 2026-11-25
    const dir = writeContent([{ slug: 'old-news', title: 'Old news', published, score: 7, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    const next = await almanac(['compose', 'midweek', '--json', '--content', dir], { ALMANAC_NOW: now });
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout).news).toEqual([]);
    expect(Date.parse(JSON.parse(next.stdout).sendAt)).toBeGreaterThan(Date.parse(now));

    const latest = await almanac(['compose', 'midweek', '--latest', '--json', '--content', dir], { ALMANAC_NOW: now });
    expect(latest.code, latest.stderr).toBe(0);
    const edition = JSON.parse(latest.stdout);
    expect(edition.id).toBe('2026-11-25-midweek');
    expect(edition.news.map((n: { title: string }) => n.title)).toEqual(['Old news']);
  });

  test('the shipped content gives every kind a latest edition, and preview writes it', async () => {
    const ids: Record<string, string> = { midweek: '2026-11-25-midweek', sunday: '2026-11-29-sunday' };
    for (const kind of ['midweek', 'sunday']) {
      const r = await almanac(['compose', kind, '--latest', '--json'], { ALMANAC_NOW: NOW });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).id).toBe(ids[kind]);
      expect(JSON.parse(r.stdout).news.length).toBeGreaterThan(0);
    }
    const out = tempDir();
    const preview = await almanac(['preview', 'midweek', '--latest', '--out', out], { ALMANAC_NOW: NOW });
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/2026-11-25-midweek\.html/);
  });

  test('--latest with --date is a usage error; content without any news says so', async () => {
    const both = await almanac(['compose', 'sunday', '--latest', '--date', '2026-11-22']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--date and --latest/);

    const future = new Date(Date.parse(NOW) + 30 * DAY).toISOString();
    const dir = writeContent([{ slug: 'later', title: 'Later', published: future, score: 5, topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    const none = await almanac(['send', 'sunday', '--latest', '--dry-run', '--content', dir], { ALMANAC_DB: `${tempDir()}/a.db`, ALMANAC_NOW: NOW });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no sunday edition up to 2026-12-07T23:00:\d\d\.\d+Z has any news/);
  });

  test('ALMANAC_NOW (the test hook) must be an ISO instant: anything else is a configuration error', async () => {
    const bad = await almanac(['compose', 'midweek', '--latest'], { ALMANAC_NOW: 'next tuesday' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ALMANAC_NOW (a test hook): expected an ISO 8601 instant');
  });
});
