/**
 * Renders the Sunday edition from the shipped content and saves a PNG of it, as a subscriber
 * would see it, to docs/edition-sunday.png (Debian's Chromium, headless). `npm run screenshot`.
 * `npm run screenshot -- pages` saves the web server's home and guide pages at 1280 and 375 px instead;
 * `npm run screenshot -- desk` the editors' desk (overview and an edition page) at 1280 and 375 px.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { startWebServer } from '../src/web/start.ts';
import { runSend } from '../src/commands/send.ts';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import { archiveCopy, renderEdition } from '../src/render/render-edition.ts';
import { seedDesk, DESK_NOW } from './desk-seed.ts';

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

/**
 * Saves each of `shots` served at `url` at each width, full page, as `outDir/<prefix>-<name>-<width>.png`;
 * returns the paths. `cookies` are set before each page opens; `fitHeight` makes the whole page the
 * view first (Chromium does not paint sandboxed, cross-origin frames out of view).
 */
async function shootPages(
  url: string,
  prefix: string,
  shots: readonly { name: string; path: string }[],
  widths: number[],
  outDir: string,
  options: { cookies?: { name: string; value: string; url: string }[]; fitHeight?: boolean } = {},
): Promise<string[]> {
  const written: string[] = [];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    mkdirSync(outDir, { recursive: true });
    for (const shot of shots) {
      for (const width of widths) {
        const context = await browser.newContext({ viewport: { width, height: 900 } });
        if (options.cookies) await context.addCookies(options.cookies);
        const page = await context.newPage();
        await page.goto(`${url}${shot.path}`, { waitUntil: 'load' });
        if (options.fitHeight) {
          const height = await page.evaluate(() => document.documentElement.scrollHeight);
          await page.setViewportSize({ width, height });
          await page.waitForTimeout(300);
        }
        const out = join(outDir, `${prefix}-${shot.name}-${width}.png`);
        await page.screenshot({ path: out, fullPage: true });
        await context.close();
        written.push(out);
      }
    }
  } finally {
    await browser.close();
  }
  return written;
}

/** The web pages shot by `pages`: docs/web-<name>-<width>.png. */
export const PAGE_SHOTS = [
  { name: 'home', path: '/' },
  { name: 'guide', path: '/guides/gpt-4o' },
] as const;

/**
 * Sends the shipped content's Sunday 2026-11-22 and Midweek 2026-11-25 editions to a sample subscriber through the
 * outbox of a temporary database (so the home page lists them), serves the pages on loopback and saves each at
 * 1280 and 375 px wide (full page). Returns the paths written.
 */
export async function screenshotPages(outDir = resolve('docs'), widths = [1280, 375]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'almanac-shots-'));
  const written: string[] = [];
  try {
    const config = loadConfig({ ALMANAC_DB: join(dir, 'almanac.db'), ALMANAC_OUTBOX: join(dir, 'outbox'), ALMANAC_CONTENT_DIR: resolve('content') });
    const store = await openStore(config.dbPath);
    const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
    try {
      await new SubscriberStore(store).add({ email: 'ada@example.com', name: 'Ada Lovelace', editions: ['midweek', 'sunday'] });
      await runSend(config, { kind: 'sunday', date: '2026-11-22', store, out: quiet, err: quiet, progress: false });
      await runSend(config, { kind: 'midweek', date: '2026-11-25', store, out: quiet, err: quiet, progress: false });
    } finally {
      await store.close();
    }
    const web = await startWebServer(config, { port: 0, host: '127.0.0.1' });
    try {
      written.push(...(await shootPages(web.url, 'web', PAGE_SHOTS, widths, outDir)));
    } finally {
      await web.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return written;
}

/** The desk pages shot by `desk`: docs/desk-<name>-<width>.png. */
export const DESK_SHOTS = [
  { name: 'overview', path: '/desk' },
  { name: 'edition', path: '/desk/editions/2026-11-29-sunday' },
] as const;

/**
 * Seeds a temporary database as the desk's demo (scripts/desk-seed.ts: subscribers over 12 weeks, the
 * Sunday of 2026-11-22 sent through the outbox, an admin signed in), serves it with the clock at
 * DESK_NOW and saves each desk page at 1280 and 375 px wide (full page). Returns the paths written.
 */
export async function screenshotDesk(outDir = resolve('docs'), widths = [1280, 375]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'almanac-desk-shots-'));
  const written: string[] = [];
  try {
    const config = loadConfig({ ALMANAC_DB: join(dir, 'almanac.db'), ALMANAC_OUTBOX: join(dir, 'outbox'), ALMANAC_CONTENT_DIR: resolve('content'), ALMANAC_TIMEZONE: 'Europe/London' });
    const { sessionId } = await seedDesk(config);
    const web = await startWebServer(config, { port: 0, host: '127.0.0.1', clock: () => DESK_NOW });
    try {
      const cookies = [{ name: 'almanac-desk', value: sessionId, url: web.url }];
      written.push(...(await shootPages(web.url, 'desk', DESK_SHOTS, widths, outDir, { cookies, fitHeight: true })));
    } finally {
      await web.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return written;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === 'desk') {
    for (const path of await screenshotDesk()) process.stdout.write(`wrote ${path}\n`);
  } else if (process.argv[2] === 'pages') {
    for (const path of await screenshotPages()) process.stdout.write(`wrote ${path}\n`);
  } else {
    await main(process.argv[2]);
  }
}
