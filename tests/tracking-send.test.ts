import { afterEach, describe, expect, test } from 'vitest';
import { publishEdition } from '../src/publish/publish-edition.ts';
import { archivedHtml } from '../src/store/editions.ts';
import { engagementReport } from '../src/tracking/report.ts';
import { startWebServer, type RunningWebServer } from '../src/web/start.ts';
import { EDITION_DATE, address, harness, seedSubscribers, type Harness } from './delivery-fixtures.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(tracking: string): Promise<{ h: Harness; smtp: TestSmtpServer; web: RunningWebServer }> {
  const smtp = await startSmtpServer();
  open.push(smtp);
  const h = await harness({ SMTP_URL: smtp.url, ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_TRACKING: tracking });
  open.push(h);
  const web = await startWebServer(h.config, { port: 0, host: '127.0.0.1', store: h.store, transport: h.transport, contentDir: h.contentDir });
  open.push(web);
  await seedSubscribers(h.subscribers, [address(1), address(2)]);
  return { h, smtp, web };
}

const hrefs = (raw: string) => [...raw.replace(/=\r\n/g, '').replace(/=3D/g, '=').matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);

describe('almanac send with ALMANAC_TRACKING (the send path, end to end)', () => {
  test('clicks: every copy links stories through /r/, the public archive keeps the original links, and a click through the web server counts', async () => {
    const { h, smtp, web } = await setup('clicks');
    const result = await publishEdition({ config: h.config, store: h.store, transport: h.transport }, { kind: 'midweek', date: EDITION_DATE, contentDir: h.contentDir });
    expect(result.outcome).toBe('sent');
    expect(smtp.messages).toHaveLength(2);
    const links = hrefs(smtp.messages[0]!.raw);
    const tracked = links.filter((u) => u.startsWith('https://almanac.example/r/'));
    expect(tracked.length).toBeGreaterThan(2);
    expect(links.some((u) => u.includes('/unsubscribe/'))).toBe(true);

    const archive = (await archivedHtml(h.store, '2026-11-25-midweek'))!;
    expect(archive).not.toContain('/r/');

    const res = await fetch(tracked[0]!.replace('https://almanac.example', web.url), { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^https?:\/\//);
    await web.close();
    const report = await engagementReport(h.store, '2026-11-25-midweek');
    expect(report.clicks.human + report.clicks.machine).toBe(1); // right after delivery it may count as a machine: kept apart, not lost
  });

  test('off: the copies carry the original links, exactly as without tracking', async () => {
    const { h, smtp } = await setup('off');
    await publishEdition({ config: h.config, store: h.store, transport: h.transport }, { kind: 'midweek', date: EDITION_DATE, contentDir: h.contentDir });
    expect(hrefs(smtp.messages[0]!.raw).some((u) => u.includes('/r/'))).toBe(false);
  });
});
