import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { personalise, renderEdition } from '../src/render/render-edition.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';
import { CHROMIUM_BIN, skipReason, titled } from './services.ts';

/** Why these cases are skipped (no Chromium here), or undefined. */
const NO_CHROMIUM = skipReason('chromium');
let browser: Browser;

beforeAll(async () => {
  if (NO_CHROMIUM) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM_BIN,
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

/** Loads `html` in a fresh page `width` px wide and runs `inPage` there. */
async function inBrowser<T>(html: string, width: number, inPage: () => T): Promise<T> {
  const page = await browser.newPage({ viewport: { width, height: 800 } });
  try {
    await page.setContent(html, { waitUntil: 'load' });
    return await page.evaluate(inPage);
  } finally {
    await page.close();
  }
}

/** The fixture edition of a kind (wide news, full guides) as a subscriber receives it. */
async function editionHtml(kind: 'sunday' | 'midweek'): Promise<string> {
  const { edition } = await fixtureEdition(kind, wideNews(), fullGuides());
  return personalise(await renderEdition(edition, SITE), { unsubscribeUrl: 'https://almanac.example/u/x', preferencesUrl: 'https://almanac.example/p/x' }).html;
}

function scrollWidth(html: string, width: number): Promise<{ scrollWidth: number; container: number }> {
  return inBrowser(html, width, () => ({
    scrollWidth: document.documentElement.scrollWidth,
    container: document.querySelector('table[style*="max-width:600px"]')?.getBoundingClientRect().width ?? Infinity,
  }));
}

describe.skipIf(!!NO_CHROMIUM)(titled('layout in a real browser', NO_CHROMIUM), () => {
  test.each(['sunday', 'midweek'] as const)('the %s edition has no horizontal scroll at 375 px', async (kind) => {
    const html = await editionHtml(kind);
    const narrow = await scrollWidth(html, 375);
    expect(narrow.scrollWidth).toBeLessThanOrEqual(375);
    const wide = await scrollWidth(html, 1000);
    expect(wide.scrollWidth).toBeLessThanOrEqual(1000);
    expect(wide.container).toBeLessThanOrEqual(600);
  });
});

/** Text whose font family is not declared at or below its nearest table cell, and font families (outside cells) that repeat what is inherited. */
function fontDeclarations(html: string): Promise<{ undeclared: string[]; redundant: string[] }> {
  return inBrowser(html, 680, () => {
    const undeclared: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement!;
      if (!node.textContent?.trim() || parent.closest('[data-skip-in-text]')) continue;
      let declared = false;
      for (let el: HTMLElement | null = parent; el && !declared; el = el.tagName === 'TD' ? null : el.parentElement) {
        declared = el.style.fontFamily !== '';
      }
      if (!declared) undeclared.push(node.textContent.trim().slice(0, 40));
    }
    const redundant = Array.from(document.querySelectorAll<HTMLElement>('body *:not(td):not(th)'))
      .filter((el) => el.style.fontFamily !== '' && getComputedStyle(el.parentElement!).fontFamily === getComputedStyle(el).fontFamily)
      .map((el) => `<${el.tagName.toLowerCase()}> ${el.textContent?.trim().slice(0, 40)}`);
    return { undeclared, redundant };
  });
}

describe.skipIf(!!NO_CHROMIUM)(titled('type declared once per cell', NO_CHROMIUM), () => {
  // Outlook's Word engine does not inherit fonts into nested tables, so each cell declares its own;
  // inside a cell, paragraphs, links and spans inherit it instead of repeating it (size of every copy sent).
  test.each(['sunday', 'midweek'] as const)('in the %s edition every text cell declares its font and nothing inside repeats it', async (kind) => {
    expect(await fontDeclarations(await editionHtml(kind))).toEqual({ undeclared: [], redundant: [] });
  });
});
