import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { CHROMIUM_ARGS } from '../scripts/screenshot.ts';
import { tempDir, testConfig } from './helpers.ts';

let browser: Browser;
let web: RunningWebServer;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const config = testConfig({ ALMANAC_DB: join(tempDir(), 'a.db'), ALMANAC_OUTBOX: join(tempDir(), 'outbox') });
  web = await startWebServer(config, { port: 0, host: '127.0.0.1', contentDir: 'content' });
});

afterAll(async () => {
  await web?.close();
  await browser?.close();
});

const PATHS = ['/', '/subscribe', '/archive', '/guides/gpt-4o', '/guides/open-weight-challengers', '/guides/claude-3-5-sonnet'];

describe('public pages on a phone and a laptop (Chromium at 375 and 1280 px)', () => {
  // The GPT-4o guide holds a wide comparison table and long links; guide pages add news cards and a subscribe box.
  test.each(PATHS.flatMap((path) => [375, 1280].map((width) => [path, width] as const)))('%s at %i px has no horizontal scroll', async (path, width) => {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    try {
      const response = await page.goto(`${web.url}${path}`);
      expect(response?.status()).toBe(200);
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
});
