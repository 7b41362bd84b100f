import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { personalise, renderEdition } from '../src/render/render-edition.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Content built to push the layout: unbreakable words, long URLs, code and a table. */
function wideNews() {
  const news = fullNews();
  news[0]!.title = `Supercalifragilisticexpialidocious${'X'.repeat(60)} headline`;
  news[1]!.summary = `A bare link <https://example.com/${'segment/'.repeat(20)}end> and ${'unbreakable'.repeat(12)}.\n\n\`\`\`\n${'const x = 1; '.repeat(20)}\n\`\`\`\n\n| column one | column two | column three |\n|---|---|---|\n| ${'wide '.repeat(10)} | cell | ${'cell'.repeat(15)} |`;
  return news;
}

async function scrollWidth(html: string, width: number): Promise<{ scrollWidth: number; container: number }> {
  const page = await browser.newPage({ viewport: { width, height: 800 } });
  try {
    await page.setContent(html, { waitUntil: 'load' });
    return await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      container: document.querySelector('table[style*="max-width:600px"]')?.getBoundingClientRect().width ?? Infinity,
    }));
  } finally {
    await page.close();
  }
}

describe('layout in a real browser', () => {
  test.each(['sunday', 'midweek'] as const)('the %s edition has no horizontal scroll at 375 px', async (kind) => {
    const { edition } = await fixtureEdition(kind, wideNews(), fullGuides());
    const { html } = personalise(await renderEdition(edition, SITE), { unsubscribeUrl: 'https://almanac.example/u/x', preferencesUrl: 'https://almanac.example/p/x' });
    const narrow = await scrollWidth(html, 375);
    expect(narrow.scrollWidth).toBeLessThanOrEqual(375);
    const wide = await scrollWidth(html, 1000);
    expect(wide.scrollWidth).toBeLessThanOrEqual(1000);
    expect(wide.container).toBeLessThanOrEqual(600);
  });
});
