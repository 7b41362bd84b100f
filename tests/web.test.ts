import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTransport } from '../src/delivery/create-transport.ts';
import type { Transport } from '../src/delivery/transport.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { loadSecret } from '../src/store/secret.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { recipientLinks, Tokens } from '../src/subscribers/tokens.ts';
import { createWebServer, serverIdle } from '../src/web/server.ts';
import { testConfig, writeContent } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDbShared, freshStore } from './store-db.ts';
import { insertEditions } from './web-fixtures.ts';

const BASE = 'https://almanac.test';

let smtp: TestSmtpServer;
let db: Store;
let transport: Transport;
let server: Server;
let origin: string;
let store: SubscriberStore;
let tokens: Tokens;

async function listen(s: Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** Follows a link from an email on the real server (the public base URL is not this test's address). */
function local(link: string): string {
  const url = new URL(link);
  return `${origin}${url.pathname}${url.search}`;
}

function form(fields: Record<string, string | string[]>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one);
  return body;
}

async function waitForMessages(count: number): Promise<void> {
  await serverIdle(server);
  for (let i = 0; i < 100 && smtp.messages.length < count; i++) await new Promise((r) => setTimeout(r, 50));
  expect(smtp.messages.length).toBe(count);
}

describeEachDbShared('web', (dialect: DialectName) => {
  beforeAll(async () => {
    smtp = await startSmtpServer();
    const config = testConfig({
      ALMANAC_BASE_URL: BASE,
      SMTP_URL: smtp.url,
      ALMANAC_SECRET: 'test-secret-of-enough-length',
    });
    const contentDir = writeContent(
      [{ published: '2026-11-20T10:00:00Z', topics: ['gpt-4o'] }],
      [{ slug: 'gpt-4o', title: 'GPT-4o: <the> "Omni" model & more', topics: ['gpt-4o'] }],
    );
    db = (await freshStore(dialect)).store;
    transport = createTransport(config);
    server = await createWebServer({
      config,
      store: db,
      transport,
      contentDir,
      health: () => ({ running: true }),
      subscribeRateLimit: { limit: 1000, windowMs: 600_000 },
      log: () => {},
    });
    origin = await listen(server);
    store = new SubscriberStore(db);
    tokens = new Tokens(await loadSecret(db, config));
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await transport.close();
    await smtp.close();
  });

  describe('subscribe → confirm → one-click unsubscribe', () => {
    test('the whole path, following the link in the confirmation email received over SMTP', async () => {
      const res = await fetch(`${origin}/subscribe`, {
        method: 'POST',
        body: form({ email: '  Reader@Example.COM ', name: 'Rea <b>der</b>', editions: ['midweek', 'sunday'], editions_shown: '1', consent_version: 'v1-2026-11' }),
      });
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('Check your inbox');
      expect(page).not.toContain('<b>der</b>');

      const pending = (await store.findByEmail('reader@example.com'))!;
      expect(pending).toMatchObject({ status: 'pending', name: 'Rea <b>der</b>', midweek: true, sunday: true });
      expect(pending.consent).toMatchObject({ source: 'form', ip: '127.0.0.1', wording: 'v1-2026-11', confirmedAt: null });
      expect(pending.consent.requestedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect((await store.activeBatch('midweek', 0, 100)).map((s) => s.id)).not.toContain(pending.id);

      await waitForMessages(1);
      const received = smtp.messages[0]!;
      expect(received.to).toEqual(['reader@example.com']);
      const mail = await simpleParser(received.raw);
      const link = /https:\/\/almanac\.test\/confirm\/[A-Za-z0-9_-]+/.exec(mail.text ?? '')?.[0];
      expect(link).toBeDefined();
      expect(link).not.toContain('reader');

      const confirmed = await fetch(local(link!));
      expect(confirmed.status).toBe(200);
      expect(await confirmed.text()).toContain('You are subscribed');
      const active = (await store.get(pending.id))!;
      expect(active.status).toBe('active');
      expect(active.consent.confirmedAt).not.toBeNull();
      expect((await store.activeBatch('midweek', 0, 100)).map((s) => s.id)).toContain(pending.id);

      // The sender builds the List-Unsubscribe URL exactly like this.
      const links = recipientLinks(BASE, tokens, pending.id, 'midweek');
      const look = await fetch(local(links.unsubscribeUrl));
      expect(look.status).toBe(200);
      const lookPage = await look.text();
      expect(lookPage).toContain('method="post"');
      expect(lookPage).toContain('Leave both editions');
      expect(await store.get(pending.id)).toMatchObject({ status: 'active', midweek: true, sunday: true });

      for (let i = 0; i < 2; i++) {
        const oneClick = await fetch(local(links.unsubscribeUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
          redirect: 'manual',
        });
        expect(oneClick.status).toBe(200);
        expect(oneClick.headers.get('set-cookie')).toBeNull();
        expect(await store.get(pending.id)).toMatchObject({ status: 'active', midweek: false, sunday: true });
      }

      const sunday = recipientLinks(BASE, tokens, pending.id, 'sunday').unsubscribeUrl;
      for (let i = 0; i < 2; i++) {
        const body = new FormData();
        body.append('List-Unsubscribe', 'One-Click');
        const oneClick = await fetch(local(sunday), { method: 'POST', body, redirect: 'manual' });
        expect(oneClick.status).toBe(200);
        expect(await store.get(pending.id)).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });
      }
      expect((await store.activeBatch('sunday', 0, 100)).map((s) => s.id)).not.toContain(pending.id);
      expect(smtp.messages).toHaveLength(1);
    });

    test('a form field scope=all leaves both editions at once', async () => {
      const { subscriber } = await store.add({ email: 'both@example.com', editions: ['midweek', 'sunday'] });
      const url = local(recipientLinks(BASE, tokens, subscriber!.id, 'sunday').unsubscribeUrl);
      const res = await fetch(url, { method: 'POST', body: form({ scope: 'all' }) });
      expect(res.status).toBe(200);
      expect(await store.get(subscriber!.id)).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });
    });

    test('a tampered or foreign token is refused with the same page and changes nothing', async () => {
      const { subscriber } = await store.add({ email: 'tamper@example.com', editions: ['midweek', 'sunday'] });
      const id = subscriber!.id;
      const good = tokens.unsubscribe(id, 'midweek');
      const flipped = `${good.slice(0, 5)}${good[5] === 'A' ? 'B' : 'A'}${good.slice(6)}`;
      const foreign = new Tokens('another-secret-of-enough-length').unsubscribe(id, 'midweek');
      const wrongPurpose = tokens.preferences(id);
      const unknownId = tokens.unsubscribe(999_999, 'midweek');
      const pages = new Set<string>();
      for (const token of [flipped, foreign, wrongPurpose, unknownId, 'garbage', '%E0%A4%A']) {
        const get = await fetch(`${origin}/unsubscribe/${token}`);
        const post = await fetch(`${origin}/unsubscribe/${token}`, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        expect([get.status, post.status]).toEqual([404, 404]);
        pages.add(await post.text());
        await get.text();
      }
      expect(pages.size).toBe(1); // same answer whether or not the subscriber exists
      const confirm = await fetch(`${origin}/confirm/${flipped}`);
      expect(confirm.status).toBe(404);
      expect(await store.get(id)).toMatchObject({ status: 'active', midweek: true, sunday: true });
    });

    test('a confirmation link does not confirm after the subscriber left', async () => {
      const res = await fetch(`${origin}/subscribe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'leaver@example.com' }) });
      expect(res.status).toBe(200);
      const s = (await store.findByEmail('leaver@example.com'))!;
      await store.unsubscribe(s.id, 'all');
      const confirm = await fetch(`${origin}/confirm/${tokens.confirm(s.id, ['midweek', 'sunday'])}`);
      expect(confirm.status).toBe(404);
      expect((await store.get(s.id))!.status).toBe('unsubscribed');
    });
  });

  describe('subscribe answers the same for every address', () => {
    test('erased and already-active addresses get the usual answer, no email, and no status change; a bounced one gets a confirmation', async () => {
      await serverIdle(server);
      const before = smtp.messages.length;
      const bounced = (await store.add({ email: 'bounced@example.com', editions: ['midweek'] })).subscriber!;
      await store.suppress(bounced.id, 'bounced', '550 5.1.1 user unknown');
      const active = (await store.add({ email: 'active@example.com', editions: ['sunday'] })).subscriber!;
      const erased = 'erased@example.com';
      await store.add({ email: erased, editions: ['sunday'] });
      await store.erase(erased);

      const answers: string[] = [];
      for (const email of ['new-person@example.com', 'BOUNCED@example.com', 'active@example.com', erased]) {
        const res = await fetch(`${origin}/subscribe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, editions: ['midweek', 'sunday'] }) });
        expect(res.status).toBe(200);
        answers.push(await res.text());
      }
      expect(new Set(answers).size).toBe(1);
      await waitForMessages(before + 2);
      expect(smtp.messages.slice(before).map((m) => m.to).sort()).toEqual([['bounced@example.com'], ['new-person@example.com']]);
      // Pending until the link is confirmed, and still suppressed meanwhile.
      expect((await store.get(bounced.id))!.status).toBe('pending');
      expect(await store.isSuppressed('bounced@example.com')).toBe(true);
      expect(await store.get(active.id)).toMatchObject({ status: 'active', midweek: false, sunday: true });
      expect(await store.findByEmail(erased)).toBeUndefined();
      expect(await store.isSuppressed(erased)).toBe(true);
    });

    test('an invalid email gets 400: the form again with the message, or JSON', async () => {
      const html = await fetch(`${origin}/subscribe`, { method: 'POST', body: form({ email: 'not-an-email', name: 'X', editions: 'sunday', editions_shown: '1' }) });
      expect(html.status).toBe(400);
      const page = await html.text();
      expect(page).toContain('is not a valid email address');
      expect(page).toContain('value="not-an-email"');
      const json = await fetch(`${origin}/subscribe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"x@"}' });
      expect(json.status).toBe(400);
      expect(await json.json()).toMatchObject({ ok: false });
      const none = await fetch(`${origin}/subscribe`, { method: 'POST', body: form({ email: 'ok@example.com', editions_shown: '1' }) });
      expect(none.status).toBe(400);
      expect(await none.text()).toContain('Choose at least one edition');
    });

    test('multipart form posts are accepted', async () => {
      const body = new FormData();
      body.append('email', 'multi@example.com');
      body.append('editions', 'sunday');
      const res = await fetch(`${origin}/subscribe`, { method: 'POST', body });
      expect(res.status).toBe(200);
      expect(await store.findByEmail('multi@example.com')).toMatchObject({ status: 'pending', midweek: false, sunday: true });
    });
  });

  describe('preferences', () => {
    test('GET shows the choice; POST changes it or leaves entirely', async () => {
      const s = (await store.add({ email: 'prefs@example.com', editions: ['midweek', 'sunday'] })).subscriber!;
      const url = `${origin}/preferences/${tokens.preferences(s.id)}`;
      const get = await fetch(url);
      expect(get.status).toBe(200);
      expect(await get.text()).toContain('name="editions" value="sunday" checked');
      expect(await store.get(s.id)).toMatchObject({ midweek: true, sunday: true });

      const save = await fetch(url, { method: 'POST', body: form({ action: 'save', editions: 'sunday' }) });
      expect(save.status).toBe(200);
      expect(await save.text()).toContain('Saved. You receive Sunday.');
      expect(await store.get(s.id)).toMatchObject({ status: 'active', midweek: false, sunday: true });

      await fetch(url, { method: 'POST', body: form({ action: 'leave' }) });
      expect(await store.get(s.id)).toMatchObject({ status: 'unsubscribed', midweek: false, sunday: false });

      await fetch(url, { method: 'POST', body: form({ action: 'save', editions: ['midweek', 'sunday'] }) });
      expect(await store.get(s.id)).toMatchObject({ status: 'active', midweek: true, sunday: true });
      expect((await store.get(s.id))!.consent.source).toBe('form');
    });
  });

  describe('archive, feed and guides', () => {
    beforeAll(async () => {
      await insertEditions(db, [
        ['2026-11-18-midweek', 'midweek', 3, '2026-11-18T07:00:00.000Z', 'Midweek No. 3: Q&A <special>', 'Pre & "header"', '<html><body>archived midweek</body></html>', 'sent'],
        ['2026-11-22-sunday', 'sunday', 2, '2026-11-22T08:00:00.000Z', 'Sunday No. 2', 'The week', '<html><body>archived sunday</body></html>', 'sent'],
        ['2026-11-25-midweek', 'midweek', 4, '2026-11-25T07:00:00.000Z', 'Not sent yet', 'x', null, 'sending'],
      ]);
    });

    test('the archive lists sent editions newest first and serves each as sent', async () => {
      const index = await (await fetch(`${origin}/archive`)).text();
      expect(index.indexOf('Sunday No. 2')).toBeGreaterThan(-1);
      expect(index.indexOf('Sunday No. 2')).toBeLessThan(index.indexOf('Midweek No. 3'));
      expect(index).toContain('Q&amp;A &lt;special&gt;');
      expect(index).not.toContain('Not sent yet');
      const one = await fetch(`${origin}/archive/2026-11-18-midweek`);
      expect(one.status).toBe(200);
      expect(await one.text()).toBe('<html><body>archived midweek</body></html>');
      for (const id of ['2026-11-25-midweek', '2026-01-01-sunday', 'nonsense']) {
        expect((await fetch(`${origin}/archive/${id}`)).status).toBe(404);
      }
    });

    test('the feed is RSS 2.0 that parses as XML', async () => {
      const res = await fetch(`${origin}/feed.xml`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/rss+xml');
      const xml = await res.text();
      expect(() => checkWellFormed(xml)).not.toThrow();
      expect(xml).toContain('<rss version="2.0"');
      expect(xml).toContain(`<atom:link href="${BASE}/feed.xml" rel="self" type="application/rss+xml"/>`);
      expect(xml).toContain(`<guid isPermaLink="true">${BASE}/archive/2026-11-22-sunday</guid>`);
      expect(xml).toContain('<pubDate>Sun, 22 Nov 2026 08:00:00 GMT</pubDate>');
      expect(xml).toContain('<title>Midweek No. 3: Q&amp;A &lt;special&gt;</title>');
      expect(xml.match(/<item>/g)).toHaveLength(2);
    });

    test('the checker used on the feed rejects broken XML', () => {
      for (const bad of ['<a><b></a></b>', '<a>x & y</a>', '<a', '<a></a><b></b>', '<a x=1></a>']) {
        expect(() => checkWellFormed(bad), bad).toThrow();
      }
    });

    test('a guide renders from content, escaped; an unknown one is 404', async () => {
      const res = await fetch(`${origin}/guides/gpt-4o`);
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('GPT-4o: &lt;the&gt; &quot;Omni&quot; model &amp; more');
      expect(page).toContain('Recent developments of gpt-4o.');
      expect((await fetch(`${origin}/guides/nope`)).status).toBe(404);
    });
  });

  describe('HTTP behaviour', () => {
    test('security headers, viewport and no script on every page', async () => {
      for (const path of ['/', '/subscribe', '/archive']) {
        const res = await fetch(`${origin}${path}`);
        expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
        expect(res.headers.get('content-security-policy')).not.toContain('script-src');
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        const page = await res.text();
        expect(page).toContain('<meta name="viewport"');
        expect(page).not.toContain('<script');
      }
    });

    test('404 for unknown routes, 405 for wrong methods, 413 for bodies over 10 KB', async () => {
      expect((await fetch(`${origin}/nowhere`)).status).toBe(404);
      const put = await fetch(`${origin}/subscribe`, { method: 'PUT' });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
      expect((await fetch(`${origin}/feed.xml`, { method: 'POST' })).status).toBe(405);
      const big = await fetch(`${origin}/subscribe`, { method: 'POST', body: form({ email: 'big@example.com', name: 'x'.repeat(11 * 1024) }) });
      expect(big.status).toBe(413);
      expect(await store.findByEmail('big@example.com')).toBeUndefined();
      const bigJson = await fetch(`${origin}/subscribe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'big@example.com', name: 'x'.repeat(11 * 1024) }) });
      expect(bigJson.status).toBe(413);
      expect(await bigJson.json()).toMatchObject({ ok: false });
    });

    test('healthz reports the database and the scheduler', async () => {
      const res = await fetch(`${origin}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, db: 'ok', scheduler: { running: true } });
    });

    test('behind ALMANAC_TRUST_PROXY proxies the visitor is the forwarded address; without it X-Forwarded-For is ignored', async () => {
      const limitedServer = async (env: Record<string, string>) => {
        const server = await createWebServer({
          config: testConfig({ ALMANAC_DB: ':memory:', ALMANAC_SECRET: 'test-secret-of-enough-length', ...env }),
          store: db,
          transport,
          contentDir: '.',
          log: () => {},
        });
        return { server, url: `${await listen(server)}/subscribe` };
      };
      const post = (url: string, forwardedFor: string) =>
        fetch(url, { method: 'POST', headers: { 'x-forwarded-for': forwardedFor }, body: form({ email: 'bad' }) }).then((r) => r.status);

      const proxied = await limitedServer({ ALMANAC_TRUST_PROXY: '1' });
      try {
        // Six visitors through one proxy: each has its own allowance.
        for (let i = 1; i <= 6; i++) expect(await post(proxied.url, `203.0.113.${i}`)).toBe(400);
        // One visitor six times, the last time with a forged address in front of what the proxy appended.
        for (let i = 0; i < 5; i++) expect(await post(proxied.url, '198.51.100.7')).toBe(400);
        expect(await post(proxied.url, '192.0.2.99, 198.51.100.7')).toBe(429);
      } finally {
        await new Promise((r) => proxied.server.close(r));
      }

      const direct = await limitedServer({});
      try {
        // No proxy configured: a made-up header does not buy a new allowance.
        for (let i = 1; i <= 5; i++) expect(await post(direct.url, `203.0.113.${i}`)).toBe(400);
        expect(await post(direct.url, '203.0.113.6')).toBe(429);
      } finally {
        await new Promise((r) => direct.server.close(r));
      }
    });

    test('repeated subscribe requests from one IP get 429 with Retry-After (sliding window)', async () => {
      let now = new Date('2026-11-25T10:00:00Z');
      const limited = await createWebServer({
        config: testConfig({ ALMANAC_DB: ':memory:', ALMANAC_SECRET: 'test-secret-of-enough-length' }),
        store: db,
        transport,
        contentDir: '.',
        clock: () => now,
        log: () => {},
      });
      const url = `${await listen(limited)}/subscribe`;
      try {
        const post = () => fetch(url, { method: 'POST', body: form({ email: 'bad' }) });
        for (let i = 0; i < 5; i++) expect((await post()).status).toBe(400);
        const refused = await post();
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBe(600);
        now = new Date(now.getTime() + 599_000);
        expect((await post()).status).toBe(429);
        now = new Date(now.getTime() + 2_000);
        expect((await post()).status).toBe(400);
      } finally {
        await new Promise((r) => limited.close(r));
      }
    });
  });
});

/** A strict XML 1.0 well-formedness check (elements, attributes, references, one root); throws on the first problem. */
function checkWellFormed(xml: string): void {
  let i = 0;
  const stack: string[] = [];
  let roots = 0;
  const name = /^[A-Za-z_][\w.:-]*/;
  const fail = (what: string) => {
    throw new Error(`${what} at ${i}: ${JSON.stringify(xml.slice(i, i + 30))}`);
  };
  const text = (s: string) => {
    if (s.includes('<')) fail('bare <');
    for (const m of s.matchAll(/&([^;]*);?/g)) {
      if (!m[0].endsWith(';') || !/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(m[1]!)) fail(`bad reference ${m[0]}`);
    }
  };
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = xml.slice(i, lt === -1 ? xml.length : lt);
    if (stack.length === 0 && chunk.trim()) fail('text outside the root');
    text(chunk);
    if (lt === -1) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end === -1) fail('unterminated comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', i);
    if (gt === -1) fail('unterminated tag');
    const tag = xml.slice(i + 1, gt);
    if (tag.startsWith('/')) {
      if (stack.pop() !== tag.slice(1).trim()) fail(`mismatched </${tag.slice(1)}>`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const tagName = name.exec(body)?.[0];
      if (!tagName) fail('bad element name');
      let rest = body.slice(tagName!.length);
      const seen = new Set<string>();
      while (rest.trim()) {
        const m = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("[^"<]*"|'[^'<]*')/.exec(rest);
        if (!m) fail(`bad attribute in <${tagName}>`);
        if (seen.has(m![1]!)) fail(`repeated attribute ${m![1]}`);
        seen.add(m![1]!);
        text(m![2]!.slice(1, -1));
        rest = rest.slice(m![0].length);
      }
      if (stack.length === 0 && ++roots > 1) fail('second root element');
      if (!selfClosing) stack.push(tagName!);
    }
    i = gt + 1;
  }
  if (stack.length) fail(`unclosed <${stack.at(-1)}>`);
  if (roots !== 1) fail('no root element');
}
