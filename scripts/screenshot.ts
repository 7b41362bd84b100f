/**
 * Renders the Sunday edition from the shipped content and saves a PNG of it, as a subscriber
 * would see it, to docs/edition-sunday.png (Debian's Chromium, headless). `npm run screenshot`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import { archiveCopy, renderEdition } from '../src/render/render-edition.ts';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];

/** Writes a PNG of the edition's HTML at the given width; returns the path. */
export async function screenshotHtml(html: string, out: string, width = 680): Promise<string> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.setContent(html, { waitUntil: 'load' });
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
  return out;
}

/** Renders the Sunday edition of `date` from `./content` and screenshots it. */
export async function main(date = '2026-11-22', out = resolve('docs/edition-sunday.png')): Promise<void> {
  const config = loadConfig({});
  const { edition } = await composeEdition('sunday', date, config);
  const rendered = await renderEdition(edition, { baseUrl: 'https://almanac.example', postalAddress: config.postalAddress, timezone: config.timezone });
  const { html } = archiveCopy(rendered, 'https://almanac.example');
  await screenshotHtml(html, out);
  process.stdout.write(`wrote ${out}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main(process.argv[2]);
}
