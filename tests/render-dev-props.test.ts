import { expect, test } from 'vitest';
import { upcomingOrLatest } from '../scripts/dev-preview-props.ts';
import { loadValidContent } from '../src/content/loader.ts';
import { testConfig, writeContent } from './helpers.ts';
import { fullGuides, fullNews } from './render-fixtures.ts';

test('the dev preview shows the upcoming edition, or the latest non-empty one when it has no news yet', async () => {
  const content = await loadValidContent(writeContent(fullNews(), fullGuides()));
  const config = testConfig();
  // Before the Midweek of 2026-11-25 goes out, that is the upcoming one and it has news.
  expect(upcomingOrLatest(content, 'midweek', config, new Date('2026-11-24T12:00:00Z')).id).toBe('2026-11-25-midweek');
  // Weeks later, the upcoming editions are empty: fall back to the latest with news.
  expect(upcomingOrLatest(content, 'midweek', config, new Date('2027-01-10T12:00:00Z')).id).toBe('2026-11-25-midweek');
  expect(upcomingOrLatest(content, 'sunday', config, new Date('2027-01-10T12:00:00Z')).id).toBe('2026-11-29-sunday');
  // No content at all: the upcoming edition, empty.
  const none = upcomingOrLatest({ news: [], guides: [], editions: [] }, 'sunday', config, new Date('2027-01-10T12:00:00Z'));
  expect(none).toMatchObject({ id: '2027-01-17-sunday', empty: true });
});
