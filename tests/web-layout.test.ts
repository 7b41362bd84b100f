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

describe('public pages on a phone (Chromium at 375 px)', () => {
  // The GPT-4o guide holds a wide comparison table and long links.
  test.each(['/', '/subscribe', '/archive', '/guides/gpt-4o', '/guides/open-weight-challengers'])('%s has no horizontal scroll', async (path) => {
    const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
    try {
      const response = await page.goto(`${web.url}${path}`);
      expect(response?.status()).toBe(200);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    } finally {
      await page.close();
    }
  });
});
