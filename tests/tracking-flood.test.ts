import { Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterEach, expect, test } from 'vitest';
import type { Transport } from '../src/delivery/transport.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import { editionLinks } from '../src/store/engagement.ts';
import type { Store } from '../src/store/handle.ts';
import type { TrackingDeps } from '../src/tracking/handler.ts';
import { CLIENT_EVENTS, REPEAT_WINDOW_MS } from '../src/tracking/recorder.ts';
import { createTrackingDeps, trackEdition } from '../src/tracking/setup.ts';
import { createWebServer } from '../src/web/server.ts';
import { engagementReport } from '../src/tracking/report.ts';
import { testConfig } from './helpers.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';
import { describeEachDb, freshStore } from './store-db.ts';

// Item 6 of issue 23: a flood from one client counts a handful; a repeat counts once; what is held
// while the database is down is bounded, and nothing the flush timer meets ends the process.

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
/** The fixed instant the server's clock starts at (the edition was never delivered: no "early" rule). */
const T0 = Date.parse('2026-11-29T12:00:00Z');

const servers: Server[] = [];
const recorders: TrackingDeps[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const d of recorders.splice(0)) await d.recorder.close();
});

interface Site {
  store: Store;
  base: string;
  tracking: TrackingDeps;
  /** Paths of the edition's tracked story links (not the honeypot), in link order. */
  paths: string[];
  logs: string[];
  clock: { now: number };
  editionId: string;
}

/** The real web server with /r/ mounted, a tracked Sunday edition, and a clock the test moves. */
async function site(dialect: 'sqlite' | 'postgres', env: Record<string, string> = {}, recorder: Parameters<typeof createTrackingDeps>[2] = {}): Promise<Site> {
  const { store } = await freshStore(dialect);
  const config = testConfig({ ALMANAC_BASE_URL: SITE.baseUrl, ALMANAC_TRACKING: 'clicks', ALMANAC_SECRET: 'test-secret-for-tracking', ...env });
  const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
  const sent = await trackEdition(store, config, edition, await renderEdition(edition, SITE));
  const clock = { now: T0 };
  const logs: string[] = [];
  const tracking = await createTrackingDeps(store, config, { clock: () => new Date(clock.now), log: (line) => logs.push(line), ...recorder });
  recorders.push(tracking);
  const transport = { send: async () => { throw new Error('no mail here'); }, close: async () => {} } as unknown as Transport;
  const server = await createWebServer({ config, store, transport, contentDir: '.', log: (line) => logs.push(line), tracking, clock: () => new Date(clock.now) });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const links = (await editionLinks(store, edition.id)).filter((l) => l.kind !== 'honeypot');
  const tracked = [...sent.html.matchAll(/href="https:\/\/almanac\.example(\/r\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  const paths = links.map((l) => tracked.find((p) => tracking.tokens.verify(p.slice(3))?.link === l.link)!);
  return { store, base, tracking, paths, logs, clock, editionId: edition.id };
}

interface Hit {
  ua?: string;
  /** The socket's source address (another client on loopback). */
  from?: string;
  forwardedFor?: string;
  agent?: Agent;
}

/** One GET over a real socket; resolves with the status. */
function get(base: string, path: string, hit: Hit = {}): Promise<number> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': hit.ua ?? BROWSER };
    if (hit.forwardedFor) headers['x-forwarded-for'] = hit.forwardedFor;
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers, localAddress: hit.from, agent: hit.agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `n` GETs, `concurrency` at a time over keep-alive connections; every answer must be a 302. */
async function flood(base: string, n: number, one: (i: number) => { path: string; hit?: Hit }, concurrency = 16): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  agents.push(agent);
  let next = 0;
  const statuses = new Map<number, number>();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const { path, hit } = one(i);
      const status = await get(base, path, { ...hit, agent });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  expect(Object.fromEntries(statuses)).toEqual({ 302: n });
}

async function clicks(s: Site): Promise<{ human: number; machine: number; total: number }> {
  await s.tracking.recorder.flush();
  const rows = await s.store.db.selectFrom('engagement_events').select(['class']).where('type', '=', 'click').execute();
  const human = rows.filter((r) => r.class === 'human').length;
  return { human, machine: rows.length - human, total: rows.length };
}

describeEachDb('clicks under abuse', (dialect) => {
  test('a flood from one client counts a handful of clicks, whatever user agents it sends; another client still counts', async () => {
    const s = await site(dialect);
    // 1,500 GETs of one story from one address, each with a different user agent (so no repeat rule
    // catches them), within one second of the server's clock.
    await flood(s.base, 1_500, (i) => ({ path: s.paths[0]!, hit: { ua: `${BROWSER} flood-${i}` } }));
    // The same from the same browser, on every story: the repeats count once, and the bound still holds.
    await flood(s.base, 500, (i) => ({ path: s.paths[i % s.paths.length]! }));
    expect((await clicks(s)).total).toBe(CLIENT_EVENTS);
    // Another reader (another address) is not held back by the flood.
    expect(await get(s.base, s.paths[1]!, { from: '127.0.0.2' })).toBe(302);
    const after = await clicks(s);
    expect(after.total).toBe(CLIENT_EVENTS + 1);
    // The bound is per window: ten minutes later the same address counts again.
    s.clock.now += 10 * 60_000 + 1;
    expect(await get(s.base, s.paths[2]!, { ua: `${BROWSER} later` })).toBe(302);
    expect((await clicks(s)).total).toBe(CLIENT_EVENTS + 2);
    // The operator hears of it once, without any address.
    s.clock.now += 60_000;
    await s.tracking.recorder.flush();
    const line = s.logs.find((l) => l.includes('over the per-client limit'));
    expect(line).toMatch(/^tracking: events not counted: \d+ over the per-client limit$/);
    expect(s.logs.join('\n')).not.toContain('127.0.0');
  }, 120_000);

  test('the bound follows ALMANAC_TRUST_PROXY: forwarded addresses count apart behind a trusted proxy, and a forged header changes nothing without one', async () => {
    const direct = await site(dialect);
    await flood(direct.base, 30, (i) => ({ path: direct.paths[i % direct.paths.length]!, hit: { ua: `${BROWSER} r${i}`, forwardedFor: `203.0.113.${i + 1}` } }), 4);
    expect((await clicks(direct)).total).toBe(CLIENT_EVENTS);

    const proxied = await site(dialect, { ALMANAC_TRUST_PROXY: '127.0.0.1' });
    await flood(proxied.base, 30, (i) => ({ path: proxied.paths[i % proxied.paths.length]!, hit: { ua: `${BROWSER} r${i}`, forwardedFor: `203.0.113.${i + 1}` } }), 4);
    expect((await clicks(proxied)).total).toBe(30);
    // IPv6 visitors are one client per /64 (a subscriber line's usual allocation).
    await flood(proxied.base, 20, (i) => ({ path: proxied.paths[0]!, hit: { ua: `${BROWSER} v6-${i}`, forwardedFor: `2001:db8:1:2::${(i + 1).toString(16)}` } }), 4);
    expect((await clicks(proxied)).total).toBe(30 + CLIENT_EVENTS);
  }, 60_000);

  test('a reader clicking the same link again within minutes counts once; later it counts again', async () => {
    const s = await site(dialect);
    for (let i = 0; i < 3; i++) expect(await get(s.base, s.paths[0]!)).toBe(302);
    expect(await clicks(s)).toEqual({ human: 1, machine: 0, total: 1 });
    s.clock.now += REPEAT_WINDOW_MS - 1_000;
    expect(await get(s.base, s.paths[0]!)).toBe(302);
    expect((await clicks(s)).total).toBe(1);
    s.clock.now += 2_000;
    expect(await get(s.base, s.paths[0]!)).toBe(302);
    // Another link, another browser at the same address: each counted.
    expect(await get(s.base, s.paths[1]!)).toBe(302);
    expect(await get(s.base, s.paths[0]!, { ua: `${BROWSER} colleague` })).toBe(302);
    expect(await clicks(s)).toEqual({ human: 4, machine: 0, total: 4 });
    expect((await engagementReport(s.store, s.editionId)).clicks.human).toBe(4);
  });

  test('while the database does not answer, held events are capped, a failing reporter ends nothing, and the redirect keeps working', async () => {
    const thrown: unknown[] = [];
    const s = await site(dialect, { ALMANAC_TRUST_PROXY: '127.0.0.1' }, {
      maxHeld: 25,
      flushEveryMs: 20,
      // A reporter that itself fails (a closed log stream, say): it must not end the process.
      onError: (error) => {
        thrown.push(error);
        throw new Error('the error reporter failed too');
      },
    });
    // The events table goes away (reads of the links still work): every write of events fails.
    await sql`ALTER TABLE engagement_events RENAME TO engagement_events_away`.execute(s.store.db);
    try {
      // 60 readers behind the proxy, each one click: more than the 25 that may be held.
      await flood(s.base, 60, (i) => ({ path: s.paths[i % s.paths.length]!, hit: { ua: `${BROWSER} r${i}`, forwardedFor: `198.51.100.${i + 1}` } }), 4);
      s.clock.now += 5_000; // past the hold time: the timer's flushes now try, and fail, to write them
      for (let i = 0; i < 1_000 && thrown.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(thrown.length).toBeGreaterThanOrEqual(3);
      expect(s.tracking.recorder.held).toBeLessThanOrEqual(25);
      expect(await get(s.base, s.paths[0]!, { forwardedFor: '198.51.100.200' })).toBe(302);
      expect(s.logs.filter((l) => l.startsWith('tracking: cannot write click/open events'))).toHaveLength(1);
    } finally {
      await sql`ALTER TABLE engagement_events_away RENAME TO engagement_events`.execute(s.store.db);
    }
    s.clock.now += 60_000;
    expect((await clicks(s)).total).toBe(25);
    expect(s.logs.some((l) => /^tracking: events not counted: \d+ dropped while the database did not answer \(more than 25 held\)$/.test(l))).toBe(true);
    expect(s.logs.some((l) => l.startsWith('tracking: events are written again'))).toBe(true);
    // The process is still here, and so is the server.
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
  }, 60_000);
});
