import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { loadValidContent } from '../src/content/loader.ts';
import { upcomingOrLatest } from '../scripts/dev-preview-props.ts';
import { freePort, tempDir, testConfig } from './helpers.ts';
import { CHROMIUM_BIN, skipReason, titled } from './services.ts';

/** Why the browser case is skipped (no Chromium here), or undefined. */
const NO_CHROMIUM = skipReason('chromium');

interface EmailsDirectory {
  emailFilenames: string[];
  subDirectories: { directoryName: string }[];
}
// The preview server's own listing function (what its sidebar shows), loaded from its TypeScript
// source through a variable so tsc does not type-check the package's sources.
const LISTING_MODULE = '../node_modules/@react-email/ui/src/utils/get-emails-directory-metadata.ts';
const { getEmailsDirectoryMetadata } = (await import(LISTING_MODULE)) as {
  getEmailsDirectoryMetadata: (dir: string) => Promise<EmailsDirectory | undefined>;
};

/** The preview's clock (ALMANAC_NOW, a test hook): the same edition is "upcoming or latest" on any day. */
const NOW = '2026-12-07T23:00:00Z';

/** The environment of `npm run dev` with only the content directory and the clock set (the developer's ALMANAC_* left out). */
function devEnv(contentDir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ALMANAC_') && k !== 'SMTP_URL'));
  return { ...env, ALMANAC_CONTENT_DIR: contentDir, ALMANAC_NOW: NOW, NO_COLOR: '1' };
}

/** Starts `npm run dev`'s script (scripts/dev.ts) on `port`; resolves once the server answers. */
async function startDev(contentDir: string, port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(resolve('node_modules/.bin/tsx'), ['scripts/dev.ts', '--port', String(port)], {
    env: devEnv(contentDir),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so the test can stop the server and everything it started
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += String(c)));
  child.stderr!.on('data', (c: Buffer) => (output += String(c)));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm run dev exited early:\n${output}`);
    if (/Ready in/.test(output)) {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      if (res?.ok) break;
    }
    if (Date.now() > deadline) throw new Error(`npm run dev did not start within 90 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, output: () => output };
}

async function stopDev(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((done) => child.once('exit', done));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** The text of the email shown in the preview page's frame. */
async function previewText(page: Page): Promise<string> {
  const frame = page.frameLocator('iframe').first();
  return (await frame.locator('body').textContent({ timeout: 30_000 })) ?? '';
}

async function waitForText(page: Page, wanted: string, ms: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const text = await previewText(page).catch(() => '');
    if (text.includes(wanted)) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`the preview did not show ${JSON.stringify(wanted)} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let browser: Browser | undefined;
let dev: ChildProcess | undefined;

afterAll(async () => {
  await browser?.close();
  await stopDev(dev);
});

describe('npm run dev: the preview server', () => {
  test('its sidebar lists only the emails, not the shared components', async () => {
    const listing = await getEmailsDirectoryMetadata(resolve('emails'));
    expect(listing?.emailFilenames.sort()).toEqual(['confirm-subscription', 'edition', 'edition-sunday']);
    expect(listing?.subDirectories.map((d) => d.directoryName)).toEqual([]);
  });

  test.skipIf(!!NO_CHROMIUM)(titled('the open preview follows content edits within seconds', NO_CHROMIUM), { timeout: 180_000 }, async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.dev).toBe('exec node --import tsx scripts/dev.ts');
    const contentDir = tempDir('almanac-dev-content-');
    cpSync('content', contentDir, { recursive: true });
    const shown = upcomingOrLatest(await loadValidContent(contentDir), 'midweek', testConfig(), new Date(NOW));
    const top = shown.news[0]!;
    const featured = shown.guides[0]!.guide;

    const port = await freePort();
    const started = await startDev(contentDir, port);
    dev = started.child;
    expect(started.output()).toContain(`Following content in:        ${contentDir}`);

    browser = await chromium.launch({
      executablePath: CHROMIUM_BIN,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/preview/edition`, { waitUntil: 'load', timeout: 90_000 });
    await waitForText(page, top.title, 60_000);

    // A changed headline in a news file.
    const newsFile = join(contentDir, 'news', `${top.slug}.md`);
    const newTitle = `Edited while previewing ${Date.now()}`;
    writeFileSync(newsFile, readFileSync(newsFile, 'utf8').replace(/^title: .*$/m, `title: ${JSON.stringify(newTitle)}`));
    await waitForText(page, newTitle, 20_000);

    // Then a guide's TL;DR: every edit shows, not only the first.
    const guideFile = join(contentDir, 'guides', `${featured.slug}.md`);
    const newTldr = `A second edit, to the guide ${Date.now()}.`;
    writeFileSync(guideFile, readFileSync(guideFile, 'utf8').replace(/^tldr: .*$/m, `tldr: ${JSON.stringify(newTldr)}`));
    await waitForText(page, newTldr, 20_000);
    expect(await previewText(page)).toContain(newTitle);

    await stopDev(dev);
    expect(dev.exitCode !== null || dev.signalCode !== null).toBe(true);
  });
});
