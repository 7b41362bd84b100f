import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, test } from 'vitest';
import { publishEdition } from '../src/publish/publish-edition.ts';
import { publishTestCopy } from '../src/publish/publish-test-copy.ts';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { EDITION_DATE, address, harness, seedSubscribers, type Harness } from './delivery-fixtures.ts';
import { freePort } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** A real SMTP server, a real web server and the harness, with every link in mail pointing at that web server. */
async function setup(): Promise<{ h: Harness; smtp: TestSmtpServer; web: RunningWebServer }> {
  const smtp = await startSmtpServer();
  open.push(smtp);
  const port = await freePort();
  const h = await harness({ SMTP_URL: smtp.url, ALMANAC_BASE_URL: `http://127.0.0.1:${port}` });
  open.push(h);
  // The web server shares the harness's Store once src/web/start.ts takes `store` (the web switch); until then it opens the same SQLite file itself.
  const webOptions: Parameters<typeof startWebServer>[1] & { store: Harness['store'] } = { port, host: '127.0.0.1', store: h.store, transport: h.transport, contentDir: h.contentDir };
  const web = await startWebServer(h.config, webOptions);
  open.push(web);
  return { h, smtp, web };
}

async function linksOf(raw: string): Promise<{ headers: Map<string, unknown>; hrefs: string[]; text: string }> {
  const mail = await simpleParser(raw);
  const hrefs = [...String(mail.html).matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  return { headers: mail.headers, hrefs, text: mail.text ?? '' };
}

describe('test copies are honest: every link works or is left out', () => {
  test('to someone who is not a subscriber, of an edition not sent yet: no one-click headers, no "View in browser", every site link answers', async () => {
    const { h, smtp, web } = await setup();
    const copy = await publishTestCopy({ config: h.config, store: h.store, transport: h.transport }, { kind: 'midweek', date: EDITION_DATE, contentDir: h.contentDir, to: 'editor@example.net' });
    expect(copy.result.status).toBe('sent');
    const raw = smtp.messages[0]!.raw;
    expect(raw).not.toMatch(/^List-Unsubscribe/im);
    const { hrefs, text } = await linksOf(raw);
    expect(hrefs.join(' ')).not.toContain('/archive/');
    expect(text).not.toMatch(/View in browser/);
    const site = [...new Set(hrefs.filter((u) => u.startsWith(web.url)))];
    expect(site.length).toBeGreaterThan(2);
    for (const url of site) expect((await fetch(url)).status, url).toBe(200);
  });

  test('to a subscriber, once the edition is sent: their own one-click headers and a working "View in browser"', async () => {
    const { h, smtp, web } = await setup();
    const [email] = await seedSubscribers(h.subscribers, [address(1)]);
    const sent = await publishEdition({ config: h.config, store: h.store, transport: h.transport }, { kind: 'midweek', date: EDITION_DATE, contentDir: h.contentDir });
    expect(sent.outcome).toBe('sent');
    await publishTestCopy({ config: h.config, store: h.store, transport: h.transport }, { kind: 'midweek', date: EDITION_DATE, contentDir: h.contentDir, to: email! });
    const raw = smtp.messages[1]!.raw;
    expect(raw).toMatch(/^Subject: \[TEST\] /m);
    expect(raw).toMatch(/^List-Unsubscribe: <http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[^>]+>\r$/m);
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    const { hrefs, text } = await linksOf(raw);
    const archive = hrefs.find((u) => u.includes('/archive/'));
    expect(archive).toBe(`${web.url.replace('localhost', '127.0.0.1')}/archive/${sent.outcome === 'sent' ? sent.editionId : ''}`);
    expect(text).toMatch(/View in browser: http/);
    for (const url of new Set(hrefs.filter((u) => u.startsWith('http://127.0.0.1') && !u.includes('/unsubscribe/')))) {
      expect((await fetch(url)).status, url).toBe(200);
    }
  });
});
