import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../src/config.ts';
import { preSendChecks } from '../src/render/checks.ts';
import { buildMessage, compileMessage, messageCommonFor } from '../src/delivery/mime.ts';
import { personalise, renderEdition } from '../src/render/render-edition.ts';
import { SLOTS } from '../src/render/slots.ts';
import type { Transport } from '../src/delivery/transport.ts';
import { createWebServer } from '../src/web/server.ts';
import { editionLinks, subscriberEngagement } from '../src/store/engagement.ts';
import { openStore } from '../src/store/open.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { writeExport } from '../src/store/export.ts';
import { handleTracking, type TrackingDeps } from '../src/tracking/handler.ts';
import { PERSONAL_NOTICE } from '../src/tracking/rewrite.ts';
import { engagementPart } from '../src/tracking/report-command.ts';
import { engagementReport } from '../src/tracking/report.ts';
import { REPEAT_WINDOW_MS } from '../src/tracking/recorder.ts';
import { createTrackingDeps, prepareTracking, readerLinks, trackEdition, trackingTokens } from '../src/tracking/setup.ts';
import { TrackingTokens } from '../src/tracking/token.ts';
import { almanac } from './cli.ts';
import { tempDir, testConfig } from './helpers.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';
import { describeEachDb, freshStore } from './store-db.ts';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
const LINKS = { unsubscribeUrl: 'https://almanac.example/unsubscribe/tok', preferencesUrl: 'https://almanac.example/preferences/tok' };

function config(tracking: string, personal = 'false') {
  return testConfig({ ALMANAC_BASE_URL: SITE.baseUrl, ALMANAC_TRACKING: tracking, ALMANAC_TRACKING_PERSONAL: personal, ALMANAC_SECRET: 'test-secret-for-tracking' });
}

async function sunday() {
  const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
  const rendered = await renderEdition(edition, SITE);
  return { edition, rendered };
}

/** href values of <a> tags, entities decoded as a browser would. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*?\shref="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

const servers: Server[] = [];
const deps: TrackingDeps[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const d of deps.splice(0)) await d.recorder.close();
});

/** A real HTTP server on loopback serving /r/ as the web server mounts it. */
async function serve(d: TrackingDeps): Promise<string> {
  deps.push(d);
  const server = createServer((req, res) => {
    handleTracking(req, res, d)
      .then((handled) => {
        if (!handled) res.writeHead(404).end();
      })
      .catch(() => res.writeHead(500).end());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The path of a tracked URL (the test server stands in for ALMANAC_BASE_URL). */
function pathOf(url: string): string {
  return new URL(url).pathname;
}

async function get(base: string, path: string, ua = BROWSER, method = 'GET') {
  return fetch(base + path, { method, redirect: 'manual', headers: { 'user-agent': ua } });
}

describe('settings', () => {
  test('tracking is off by default, and a bad value names the variable', () => {
    expect(testConfig({}).tracking).toEqual({ clicks: false, opens: false, personal: false });
    expect(() => testConfig({ ALMANAC_TRACKING: 'all' })).toThrow(/^ALMANAC_TRACKING: expected off, clicks or clicks,opens, found/);
    expect(() => testConfig({ ALMANAC_TRACKING_PERSONAL: 'yes' })).toThrow(/^ALMANAC_TRACKING_PERSONAL: expected true or false/);
    expect(() => testConfig({ ALMANAC_TRACKING: 'clicks,opens', ALMANAC_BASE_URL: 'http://localhost:3000' })).toThrow(ConfigError);
  });
});

describe('tokens', () => {
  const tokens = new TrackingTokens('secret-a');
  test('a token names its edition and link, and any change to it is refused', () => {
    const token = tokens.sign({ editionId: '2026-11-29-sunday', link: 7 });
    expect(tokens.verify(token)).toEqual({ editionId: '2026-11-29-sunday', link: 7, pixel: false, subscriberId: undefined });
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A';
      const tampered = token.slice(0, i) + c + token.slice(i + 1);
      if (Buffer.from(tampered, 'base64url').equals(Buffer.from(token, 'base64url'))) continue; // same bytes (last char's padding bits)
      expect(tokens.verify(tampered)).toBeUndefined();
    }
    expect(new TrackingTokens('secret-b').verify(token)).toBeUndefined();
  });
  test('the reader part is signed for its edition', () => {
    const token = `${tokens.sign({ editionId: '2026-11-29-sunday', link: 2 })}.${tokens.reader('2026-11-29-sunday', 42)}`;
    expect(tokens.verify(token)?.subscriberId).toBe(42);
    const otherEdition = `${tokens.sign({ editionId: '2026-11-29-sunday', link: 2 })}.${tokens.reader('2026-11-25-midweek', 42)}`;
    expect(tokens.verify(otherEdition)).toBeUndefined();
  });
});

describeEachDb('tracking', (dialect) => {
  test('with tracking off every link is the original URL, byte for byte', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const sent = await trackEdition(store, config('off'), edition, rendered);
    expect(sent).toBe(rendered);
    const prepared = await prepareTracking(store, config('off'), edition, rendered);
    expect(prepared.rendered).toBe(rendered);
    expect(personalise(prepared.rendered, { ...LINKS, ...prepared.links(1) })).toEqual(personalise(rendered, LINKS));
    expect(await editionLinks(store, edition.id)).toEqual([]);
  });

  test('with clicks, story and guide links go through /r/; unsubscribe, preferences, view-in-browser and the text part do not', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const sent = await trackEdition(store, config('clicks'), edition, rendered);
    const before = hrefs(rendered.html);
    const after = hrefs(sent.html);
    const stories = new Set([...edition.news.map((n) => n.url), ...edition.guides.map((g) => g.guide.url ?? `${SITE.baseUrl}/guides/${g.guide.slug}`)]);
    expect(before.filter((h) => stories.has(h)).length).toBeGreaterThan(0);
    // No story or guide URL is left as a direct link; each became a tracked one.
    expect(after.filter((h) => stories.has(h))).toEqual([]);
    expect(after.filter((h) => h.startsWith(`${SITE.baseUrl}/r/`)).length).toBe(before.filter((h) => stories.has(h)).length + 1); // + the honeypot
    expect(after).toContain(SLOTS.unsubscribeUrl);
    expect(after).toContain(SLOTS.preferencesUrl);
    expect(after).toContain(`${SITE.baseUrl}/archive/${edition.id}`);
    expect(sent.text).toBe(rendered.text);
    // The pre-send checks (size budget included) pass on the tracked edition.
    expect(preSendChecks(sent)).toEqual([]);
    const links = await editionLinks(store, edition.id);
    expect(new Set(links.filter((l) => l.kind !== 'honeypot').map((l) => l.url))).toEqual(new Set(before.filter((h) => stories.has(h))));
    expect(links.filter((l) => l.kind === 'honeypot')).toHaveLength(1);
  });

  test('a later run of the same edition keeps the link numbers of copies already sent, even if a URL changed', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    const first = await trackEdition(store, cfg, edition, rendered);
    const again = await trackEdition(store, cfg, edition, rendered);
    expect(again.html).toBe(first.html);
    const before = await editionLinks(store, edition.id);
    const changed = { ...edition, news: edition.news.map((n, i) => (i === 0 ? { ...n, url: 'https://news.example/corrected' } : n)) };
    await trackEdition(store, cfg, changed, await renderEdition(changed, SITE));
    const after = await editionLinks(store, edition.id);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length)).toEqual([expect.objectContaining({ link: before.length + 1, url: 'https://news.example/corrected', kind: 'news' })]);
  });

  test('the redirect leads only to the edition\'s own URLs; tampered, foreign and unknown tokens get 404', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    const sent = await trackEdition(store, cfg, edition, rendered);
    const base = await serve(await createTrackingDeps(store, cfg));
    const links = await editionLinks(store, edition.id);
    const tracked = [...new Set(hrefs(sent.html).filter((h) => h.includes('/r/')))];
    const reached = new Set<string>();
    for (const url of tracked) {
      const res = await get(base, pathOf(url));
      expect(res.status).toBe(302);
      reached.add(res.headers.get('location')!);
    }
    expect(reached).toEqual(new Set(links.map((l) => l.url)));

    const token = pathOf(tracked[0]!).slice(3);
    const tampered = token.slice(0, 5) + (token[5] === 'x' ? 'y' : 'x') + token.slice(6);
    const foreign = new TrackingTokens('someone-else').sign({ editionId: edition.id, link: 1 });
    const tokens = await trackingTokens(store, cfg);
    for (const path of [`/r/${tampered}`, `/r/${foreign}`, `/r/${tokens.sign({ editionId: edition.id, link: 999 })}`, `/r/${tokens.sign({ editionId: '2026-11-25-midweek', link: 1 })}`, '/r/https%3A%2F%2Fevil.example', '/r/']) {
      const res = await get(base, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
  });

  test('scanner-like traffic (HEAD, a scanner user agent, a burst, the honeypot, right after delivery) is counted as machine; human clicks per link', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    const sent = await trackEdition(store, cfg, edition, rendered);
    const d = await createTrackingDeps(store, cfg);
    const base = await serve(d);
    const links = await editionLinks(store, edition.id);
    const path = (link: number) => pathOf(hrefs(sent.html).find((h) => h.includes('/r/') && d.tokens.verify(pathOf(h).slice(3))?.link === link)!);
    const [a, b, c] = links.filter((l) => l.kind !== 'honeypot');
    const honeypot = links.find((l) => l.kind === 'honeypot')!;

    // People: three readers (different browsers), one link each, a few on the same link.
    await get(base, path(a!.link), `${BROWSER} reader1`);
    await get(base, path(a!.link), `${BROWSER} reader2`);
    await get(base, path(b!.link), `${BROWSER} reader3`);
    // Machines.
    expect((await get(base, path(a!.link), BROWSER, 'HEAD')).status).toBe(302);
    await get(base, path(a!.link), 'Mozilla/5.0 (compatible; Barracuda Sentinel)');
    for (const l of [a!, b!, c!]) await get(base, path(l.link), `${BROWSER} burst`);
    await get(base, path(b!.link), `${BROWSER} honeypotter`);
    expect((await get(base, path(honeypot.link), `${BROWSER} honeypotter`)).headers.get('location')).toBe(`${SITE.baseUrl}/archive/${edition.id}`);
    await d.recorder.flush();

    const report = await engagementReport(store, edition.id);
    const byUrl = Object.fromEntries(report.links.map((l) => [l.url, l]));
    expect(byUrl[a!.url]).toMatchObject({ humanClicks: 2, uniqueReaders: null, machineClicks: 3 }); // HEAD, scanner, burst
    expect(byUrl[b!.url]).toMatchObject({ humanClicks: 1, machineClicks: 2 }); // burst, honeypotter
    expect(byUrl[c!.url]).toMatchObject({ humanClicks: 0, machineClicks: 1 });
    expect(report.clicks).toMatchObject({ human: 3, machine: 7, machineByReason: { head: 1, scanner: 1, burst: 3, honeypot: 2 } });

    // Within seconds of delivery: a link scanner at the gateway, not a reader.
    const now = new Date().toISOString();
    await store.db.insertInto('deliveries').values({ edition_id: edition.id, subscriber_id: 1, email: 'x@example.com', state: 'sent', created_at: now, updated_at: now }).execute();
    const d2 = await createTrackingDeps(store, cfg);
    const base2 = await serve(d2);
    await get(base2, path(c!.link), `${BROWSER} fast`);
    await d2.recorder.flush();
    expect((await engagementReport(store, edition.id)).clicks.machineByReason.early).toBe(1);
  });

  test('the home and subscribe pages say what is tracked, true to the settings', async () => {
    const { store } = await freshStore(dialect);
    const transport = { send: async () => { throw new Error('no mail here'); }, close: async () => {} } as unknown as Transport;
    const said: Record<string, string> = {};
    for (const [tracking, personal] of [['off', 'false'], ['clicks', 'false'], ['clicks,opens', 'true']] as const) {
      const server = await createWebServer({ config: config(tracking, personal), store, transport, contentDir: '.', log: () => {} });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const home = await (await get(base, '/')).text();
      const subscribe = await (await get(base, '/subscribe')).text();
      said[tracking] = home;
      expect(subscribe, tracking).toContain(home.match(/Free\. ([^.]*)\./)![1]);
    }
    expect(said.off).toContain('No tracking pixels.');
    expect(said.clicks).toContain('clicks on story links are counted, per edition, not per reader');
    expect(said.clicks).not.toContain('Opens');
    expect(said['clicks,opens']).toContain('Opens (an estimate) and clicks on story links are counted, per reader');
  });

  test('the web server serves /r/ with its one mounted line; other pages are unaffected', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    const sent = await trackEdition(store, cfg, edition, rendered);
    const tracking = await createTrackingDeps(store, cfg);
    deps.push(tracking);
    const server = await createWebServer({ config: cfg, store, transport: { send: async () => { throw new Error('no mail here'); }, close: async () => {} } as unknown as Transport, contentDir: '.', log: () => {}, tracking });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tracked = hrefs(sent.html).find((h) => h.includes('/r/'))!;
    const res = await get(base, pathOf(tracked));
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(edition.news[0]!.url);
    expect((await get(base, '/r/not-a-token')).status).toBe(404);
    expect((await fetch(`${base}${pathOf(tracked)}`, { method: 'POST', redirect: 'manual' })).status).toBe(405);
    expect((await get(base, '/healthz')).status).toBe(200);
    await tracking.recorder.flush();
    expect((await engagementReport(store, edition.id)).clicks.human).toBe(1);
  });

  test('without personal tracking nothing stored ties a click to a person', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    const sent = await trackEdition(store, cfg, edition, rendered);
    const d = await createTrackingDeps(store, cfg);
    const base = await serve(d);
    await get(base, pathOf(hrefs(sent.html).find((h) => h.includes('/r/'))!));
    await d.recorder.flush();
    const rows = await store.db.selectFrom('engagement_events').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subscriber_id).toBeNull();
    expect(JSON.stringify(rows)).not.toContain('127.0.0.1');
  });

  test('personal tracking: unique readers per link; erasing a subscriber removes their events', async () => {
    const { store } = await freshStore(dialect);
    const subscribers = new SubscriberStore(store);
    const alice = (await subscribers.add({ email: 'alice@example.com', editions: ['sunday'] })).subscriber!;
    const bob = (await subscribers.add({ email: 'bob@example.com', editions: ['sunday'] })).subscriber!;
    const { edition, rendered } = await sunday();
    const cfg = config('clicks', 'true');
    const sent = await trackEdition(store, cfg, edition, rendered);
    expect(sent.html).toContain(`.${SLOTS.trackingReader}`);
    expect(sent.html).toContain(PERSONAL_NOTICE);
    expect(sent.text).toContain(PERSONAL_NOTICE);
    expect(rendered.html).not.toContain(PERSONAL_NOTICE);
    expect(preSendChecks(sent)).toEqual([]);
    let now = Date.parse('2026-11-29T12:00:00Z');
    const d = await createTrackingDeps(store, cfg, { clock: () => new Date(now) });
    const base = await serve(d);
    const copyOf = (id: number) => personalise(sent, { ...LINKS, ...readerLinks(d.tokens, cfg, edition.id, id) }).html;
    const prepared = await prepareTracking(store, cfg, edition, rendered); // the send path's one call gives the same copies
    expect(personalise(prepared.rendered, { ...LINKS, ...prepared.links(alice.id) }).html).toBe(copyOf(alice.id));
    const firstTracked = (html: string) => pathOf(hrefs(html).find((h) => h.includes('/r/'))!);
    expect(firstTracked(copyOf(alice.id))).not.toBe(firstTracked(copyOf(bob.id)));
    await get(base, firstTracked(copyOf(alice.id)));
    await get(base, firstTracked(copyOf(alice.id))); // a repeat within minutes: counted once
    now += REPEAT_WINDOW_MS; // back to the same story later: a second click
    await get(base, firstTracked(copyOf(alice.id)));
    await get(base, firstTracked(copyOf(bob.id)));
    await d.recorder.flush();
    const report = await engagementReport(store, edition.id);
    expect(report.personal).toBe(true);
    expect(report.links[0]).toMatchObject({ humanClicks: 3, uniqueReaders: 2 });
    expect(report.clicks.uniqueReaders).toBe(2);
    expect(await subscriberEngagement(store, alice.id)).toHaveLength(2);
    let out = '';
    await writeExport(subscribers, 'json', (chunk) => (out += chunk));
    const exported = JSON.parse(out).subscribers as { email: string; engagement?: { editionId: string; type: string; url: string }[] }[];
    expect(exported.find((e) => e.email === 'alice@example.com')!.engagement).toEqual([
      expect.objectContaining({ editionId: edition.id, type: 'click', url: report.links[0]!.url, class: 'human' }),
      expect.objectContaining({ editionId: edition.id, type: 'click', url: report.links[0]!.url }),
    ]);
    expect(exported.find((e) => e.email === 'bob@example.com')!.engagement).toHaveLength(1);

    await subscribers.erase('alice@example.com');
    expect(await subscriberEngagement(store, alice.id)).toEqual([]);
    expect(await subscriberEngagement(store, bob.id)).toHaveLength(1);
    expect((await engagementReport(store, edition.id)).links[0]).toMatchObject({ humanClicks: 1, uniqueReaders: 1 });
  });

  test('personal copies built as MIME carry each reader\'s part in every tracked link; a missing reader value is refused', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks', 'true');
    const prepared = await prepareTracking(store, cfg, edition, rendered);
    const template = compileMessage(prepared.rendered, messageCommonFor(cfg, 'sunday'));
    const tokens = await trackingTokens(store, cfg);
    const eml = buildMessage(template, { to: 'alice@example.com', links: { ...LINKS, ...prepared.links(7) }, messageId: '<1@almanac.example>', date: new Date() });
    const html = eml.slice(eml.indexOf('Content-Type: text/html')).replace(/=\r\n/g, '').replace(/=3D/g, '=');
    const tracked = [...html.matchAll(/href="https:\/\/almanac\.example\/r\/([^"]+)"/g)].map((m) => m[1]!);
    expect(tracked.length).toBeGreaterThan(3);
    for (const token of tracked) expect(tokens.verify(token)).toMatchObject({ editionId: edition.id, subscriberId: 7 });
    expect(eml).not.toContain('%%ALMANAC');
    expect(() => buildMessage(template, { to: 'bob@example.com', links: LINKS, messageId: '<2@almanac.example>', date: new Date() })).toThrow(/trackingReader left unfilled/);
  });

  test('opens: the pixel is a GIF; Apple Mail Privacy Protection and proxies are labelled', async () => {
    const { store } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks,opens');
    const sent = await trackEdition(store, cfg, edition, rendered);
    const pixel = /<img src="([^"]*\/r\/[^"]*)"/.exec(sent.html)![1]!;
    expect(preSendChecks(sent)).toEqual(preSendChecks(rendered));
    const d = await createTrackingDeps(store, cfg);
    const base = await serve(d);
    const res = await get(base, pathOf(pixel));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    await get(base, pathOf(pixel), 'Mozilla/5.0');
    await get(base, pathOf(pixel), 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)');
    await d.recorder.flush();
    const { opens } = await engagementReport(store, edition.id);
    expect(opens).toMatchObject({ estimate: true, human: 2, viaImageProxy: 1, machine: 1, machineByReason: { 'apple-privacy-protection': 1 } });
  });

  test('the HTML report file is written, self-contained, with the clicks chart', async () => {
    const { store, target } = await freshStore(dialect);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    const sent = await trackEdition(store, cfg, edition, rendered);
    const d = await createTrackingDeps(store, cfg);
    const base = await serve(d);
    for (const ua of ['r1', 'r2']) await get(base, pathOf(hrefs(sent.html).find((h) => h.includes('/r/'))!), `${BROWSER} ${ua}`);
    await d.recorder.flush();
    const t = new Date(Date.now() - 3_600_000).toISOString();
    await store.db.insertInto('deliveries').values({ edition_id: edition.id, subscriber_id: 1, email: 'x@example.com', state: 'sent', created_at: t, updated_at: t }).execute();
    const part = await engagementPart({ dbPath: target, dbPoolSize: 2 }, edition.id);
    const file = join(tempDir('almanac-report-'), 'report.html');
    part.writeHtml(file, { editionId: edition.id, counts: { sent: 1 }, total: 1 });
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<svg id="clicks-chart"');
    expect(html).toContain('<svg id="timeline-chart"');
    expect((html.match(/<rect class="bar"/g) ?? []).length).toBe(part.engagement.links.length);
    expect(html).toMatch(/width="300"/); // the most clicked link has the full-width bar
    expect(html).not.toMatch(/<script|src="http|href="http[^"]*\.css/);
  });
});

describe('report command', () => {
  test('subscribers remove erases the subscriber\'s personal events (SQLite through the CLI)', async () => {
    const db = join(tempDir('almanac-erase-cli-'), 'almanac.db');
    const s = await openStore(db);
    const subscribers = new SubscriberStore(s);
    const alice = (await subscribers.add({ email: 'alice@example.com', editions: ['sunday'] })).subscriber!;
    const bob = (await subscribers.add({ email: 'bob@example.com', editions: ['sunday'] })).subscriber!;
    const at = new Date().toISOString();
    await s.db.insertInto('engagement_events').values([alice.id, alice.id, bob.id, null].map((id) => ({ edition_id: '2026-11-29-sunday', link: 1, type: 'click' as const, class: 'human' as const, reason: null, subscriber_id: id, at }))).execute();
    await s.close();
    const removed = await almanac(['subscribers', 'remove', 'alice@example.com'], { ALMANAC_DB: db });
    expect(removed.code, removed.stderr).toBe(0);
    const after = await openStore(db);
    const rows = await after.db.selectFrom('engagement_events').select('subscriber_id').execute();
    await after.close();
    expect(rows.map((r) => r.subscriber_id).sort()).toEqual([bob.id, null].sort());
  }, 60_000);

  test('report <id> --json and --html on a tracked edition (SQLite through the CLI)', async () => {
    const dir = tempDir('almanac-report-cli-');
    const db = join(dir, 'almanac.db');
    const s = await openStore(db);
    const { edition, rendered } = await sunday();
    const cfg = config('clicks');
    await trackEdition(s, cfg, edition, rendered);
    const now = new Date().toISOString();
    await s.db.insertInto('deliveries').values({ edition_id: edition.id, subscriber_id: 1, email: 'x@example.com', state: 'sent', created_at: now, updated_at: now }).execute();
    await s.db.insertInto('engagement_events').values([
      { edition_id: edition.id, link: 1, type: 'click', class: 'human', reason: null, subscriber_id: null, at: now },
      { edition_id: edition.id, link: 1, type: 'click', class: 'machine', reason: 'scanner', subscriber_id: null, at: now },
    ]).execute();
    await s.close();
    const env = { ALMANAC_DB: db, ALMANAC_BASE_URL: SITE.baseUrl };
    const json = await almanac(['report', edition.id, '--json'], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.counts.sent).toBe(1);
    expect(parsed.engagement.links[0]).toMatchObject({ link: 1, humanClicks: 1, machineClicks: 1 });
    const file = join(dir, 'out.html');
    const text = await almanac(['report', edition.id, '--html', file], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('machine clicks (not counted above): 1 (scanner 1)');
    expect(existsSync(file) && readFileSync(file, 'utf8')).toContain('<svg id="clicks-chart"');
  }, 60_000);
});
