import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { CHROMIUM_ARGS } from '../scripts/screenshot.ts';
import { tempDir, testConfig } from './helpers.ts';
import { describeEachDbShared, freshTarget, openTracked } from './store-db.ts';
import { insertEditions } from './web-fixtures.ts';
import { CHROMIUM_BIN, skipReason } from './services.ts';

let browser: Browser;

beforeAll(async () => {
  if (skipReason('chromium')) return; // the cases are skipped, with the reason in their names
  browser = await chromium.launch({ executablePath: CHROMIUM_BIN, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
});

const PATHS = ['/', '/subscribe', '/archive', '/guides/gpt-4o', '/guides/open-weight-challengers', '/guides/claude-3-5-sonnet'];

describeEachDbShared('public pages on a phone and a laptop (Chromium at 375 and 1280 px)', (dialect) => {
  let web: RunningWebServer;

  beforeAll(async () => {
    const target = await freshTarget(dialect);
    const config = testConfig({ ALMANAC_DB: target, ALMANAC_OUTBOX: join(tempDir(), 'outbox') });
    web = await startWebServer(config, { port: 0, host: '127.0.0.1', contentDir: 'content' });
    // An archived edition with a long subject, so the archive and home lists are not empty.
    const store = await openTracked(target);
    await insertEditions(store, [
      ['2026-11-22-sunday', 'sunday', 2, '2026-11-22T08:00:00.000Z', 'Sunday No. 2: open-weight challengers, reasoning benchmarks and a very long subject line', 'What happened', '<html><body>x</body></html>', 'sent'],
    ]);
  });

  afterAll(async () => {
    await web?.close();
  });

  // The GPT-4o guide holds a wide comparison table and long links; guide pages add news cards and a subscribe box.
  test.each(PATHS.flatMap((path) => [375, 1280].map((width) => [path, width] as const)))('%s at %i px has no horizontal scroll', async (path, width) => {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    try {
      const response = await page.goto(`${web.url}${path}`);
      expect(response?.status()).toBe(200);
      if (path === '/archive') expect(await page.textContent('main')).toContain('Sunday No. 2: open-weight challengers');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    } finally {
      await page.close();
    }
  });

  test('at 1280 px the guide page sets the subscribe box beside the guide; at 375 px below it, full width', async () => {
    const boxes = async (width: number) => {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      try {
        await page.goto(`${web.url}/guides/gpt-4o`);
        const box = async (selector: string) => (await page.locator(selector).first().boundingBox())!;
        return { guide: await box('article.guide'), stay: await box('.stay'), more: await box('.more'), cards: await page.locator('.more .card').count() };
      } finally {
        await page.close();
      }
    };
    const wide = await boxes(1280);
    expect(wide.stay.x).toBeGreaterThan(wide.guide.x + wide.guide.width - 1);
    expect(wide.stay.y).toBeLessThan(wide.guide.y + 100);
    expect(wide.guide.width).toBeGreaterThan(600);
    expect(wide.cards).toBeGreaterThan(0);
    const narrow = await boxes(375);
    expect(narrow.stay.y).toBeGreaterThan(narrow.guide.y + narrow.guide.height - 1);
    expect(narrow.stay.width).toBeGreaterThan(330);
    expect(narrow.more.y).toBeGreaterThan(narrow.stay.y);
  });
}, 'chromium');
