import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS } from '../scripts/screenshot.ts';
import { DESK_NOW, seedDesk } from '../scripts/desk-seed.ts';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { almanac } from './cli.ts';
import { signInLinkFrom } from './desk-client.ts';
import { freePort, tempDir, testConfig } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { cleanUp, freshTarget } from './store-db.ts';

const CHROMIUM = '/usr/bin/chromium';
const AXE = createRequire(import.meta.url).resolve('axe-core');

/** The serious and critical axe-core violations of the page as it is now: `rule: target …` lines. */
async function axeProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run();
    return result.violations;
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe.skipIf(!existsSync(CHROMIUM))(`the desk in Chromium${existsSync(CHROMIUM) ? '' : ` (skipped: no Chromium at ${CHROMIUM})`}`, () => {
  let browser: Browser;
  let smtp: TestSmtpServer;
  let web: RunningWebServer;
  let target: string;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    smtp = await startSmtpServer();
    target = await freshTarget('sqlite');
    const outbox = join(tempDir(), 'outbox');
    const base = { ALMANAC_DB: target, ALMANAC_CONTENT_DIR: resolve('content'), ALMANAC_TIMEZONE: 'Europe/London', ALMANAC_OUTBOX: outbox };
    await seedDesk(testConfig(base)); // subscribers over 12 weeks, the Sunday of 2026-11-22 sent (through the outbox)
    const port = await freePort();
    const config = testConfig({ ...base, SMTP_URL: smtp.url, ALMANAC_BASE_URL: `http://127.0.0.1:${port}` });
    web = await startWebServer(config, { port, host: '127.0.0.1', clock: () => DESK_NOW });
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await smtp?.close();
    await cleanUp();
  });

  /** A browser context as an editor's: the site's CSP enforced, and every CSP violation noted. */
  async function context(width = 1280): Promise<BrowserContext> {
    const ctx = await browser.newContext({ viewport: { width, height: 900 } });
    ctx.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    return ctx;
  }

  test('the whole loop: an editor added on the command line signs in with the mailed link, finds the coming edition, sends a test copy and sees it in the history', { timeout: 120_000 }, async () => {
    expect((await almanac(['editors', 'add', 'ed@example.com', '--name', 'Ed', '--role', 'admin'], { ALMANAC_DB: target })).code).toBe(0);
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${web.url}/desk`);
    expect(new URL(page.url()).pathname).toBe('/desk/sign-in');
    await page.getByLabel('Email address').fill('ed@example.com');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Check your inbox');

    const link = await signInLinkFrom(smtp, 'ed@example.com');
    await page.goto(`${web.url}${link}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.url}/desk`);
    expect(await page.locator('h1').textContent()).toBe('The desk');
    expect(await page.locator('#coming-h + div table').textContent()).toContain('2026-11-29 08:00 GMT');

    await page.getByRole('link', { name: 'Sunday No. 48 · 2026-11-29' }).click();
    await page.waitForURL(`${web.url}/desk/editions/2026-11-29-sunday`);
    const frames = page.locator('iframe');
    expect(await frames.count()).toBe(2);
    expect(await frames.first().getAttribute('sandbox')).toBe('');
    expect(await page.frameLocator('iframe').first().locator('body').textContent()).toContain('Call Me Almanac');

    const before = smtp.messages.length;
    await page.getByRole('button', { name: 'Send me a test copy' }).click();
    await page.waitForURL(/notice=test-sent/);
    expect(await page.getByRole('status').textContent()).toContain('A test copy went to ed@example.com');
    const copies = smtp.messages.slice(before);
    expect(copies.map((m) => m.to)).toEqual([['ed@example.com']]);
    expect((await simpleParser(copies[0]!.raw)).subject).toMatch(/^\[TEST\] Almanac Sunday: /);
    expect(await page.locator('#history-h + h3 + ul').textContent()).toMatch(/2026-11-24 12:00 GMT · ed@example\.com · test-copy · to ed@example\.com, sent: 250/);
    await ctx.close();
    expect(cspViolations).toEqual([]);
  });

  /** Signs in through the sign-in page in a context that bypasses the CSP (axe is a script the desk's CSP refuses; the loop above runs with it). */
  async function signInForAxe(email: string, width: number) {
    const ctx = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${web.url}/desk/sign-in`);
    await page.getByLabel('Email address').fill(email);
    const seen = smtp.messages.length;
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.waitForSelector('text=Check your inbox');
    const link = await signInLinkFrom(smtp, email, seen);
    return { ctx, page, link };
  }

  test.each([1280, 375])('axe-core finds no serious or critical violation on any desk page at %i px, and none scrolls sideways', async (width) => {
    const { ctx, page, link } = await signInForAxe('ed@example.com', width);
    const checked: string[] = [];
    const check = async (name: string) => {
      checked.push(name);
      expect(await axeProblems(page), `${name} at ${width} px`).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${width} px scrolls sideways`).toBeLessThanOrEqual(width);
    };
    await check('check your inbox');
    await page.goto(`${web.url}${link}`);
    await check('sign-in link');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.url}/desk`);
    await check('overview');
    for (const path of ['/desk/editions/2026-11-29-sunday', '/desk/editions/2026-11-22-sunday', '/desk/subscribers', '/desk/subscribers?email=reader7%40example.com', '/desk/editors']) {
      await page.goto(`${web.url}${path}`);
      await check(path);
    }
    await page.goto(`${web.url}${link}`);
    await check('spent link');
    if (width === 1280) {
      await page.goto(`${web.url}/desk/subscribers?email=reader7%40example.com`);
      await page.getByRole('button', { name: 'Lift the bounce suppression' }).click();
      await page.waitForURL(/notice=lifted/);
      await check('suppression lifted');
    }
    await page.goto(`${web.url}/desk`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await check('signed out');
    await page.goto(`${web.url}/desk/sign-in`);
    await check('sign-in form');
    await ctx.close();
    expect(checked.length).toBeGreaterThanOrEqual(11);
  }, 180_000);

  test('axe-core on the refusal an editor gets on an admin page', async () => {
    expect((await almanac(['editors', 'add', 'sam@example.com', '--name', 'Sam'], { ALMANAC_DB: target })).code).toBe(0);
    const { ctx, page, link } = await signInForAxe('sam@example.com', 375);
    await page.goto(`${web.url}${link}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.url}/desk`);
    const refused = await page.goto(`${web.url}/desk/editors`);
    expect(refused?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('For admins only');
    expect(await axeProblems(page)).toEqual([]);
    await ctx.close();
  }, 120_000);
});
