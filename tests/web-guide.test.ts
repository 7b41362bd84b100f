import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadValidContent } from '../src/content/loader.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import type { Transport } from '../src/delivery/transport.ts';
import type { DialectName, Store } from '../src/store/handle.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { ContentCache, PageCache } from '../src/web/content-cache.ts';
import { topicNames } from '../src/web/related.ts';
import { createWebServer, serverIdle } from '../src/web/server.ts';
import { tempDir, testConfig, writeContent } from './helpers.ts';
import { describeEachDbShared, freshStore } from './store-db.ts';
import { insertEditions } from './web-fixtures.ts';

const NOW = new Date('2026-11-25T12:00:00Z');

let db: Store;
let transport: Transport;
let server: Server;
let origin: string;
let contentDir: string;

async function get(path: string): Promise<{ status: number; page: string }> {
  const res = await fetch(`${origin}${path}`);
  return { status: res.status, page: await res.text() };
}

/** The page's text with tags removed and whitespace collapsed, to read as a visitor does. */
function text(page: string): string {
  return page
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<\/?(strong|em|a|span|time|code)\b[^>]*>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}

describeEachDbShared('web pages', (dialect: DialectName) => {
  beforeAll(async () => {
    const dir = tempDir();
    contentDir = writeContent(
      [
        { slug: 'hello', title: 'OpenAI says hello to GPT-4o', source: 'OpenAI Blog', published: '2026-11-24T12:00:00Z', score: 9, topics: ['gpt-4o', 'openai'], summary: 'OpenAI announces **GPT-4o**.' },
        { slug: 'rollback', title: 'Sycophancy rollback', source: 'The Verge', published: '2026-11-20T12:00:00Z', score: 7, topics: ['gpt-4o', 'alignment'] },
        { slug: 'claude', title: 'Claude 3.5 Sonnet tops SWE-bench', source: 'Anthropic', published: '2026-11-23T12:00:00Z', score: 8, topics: ['claude', 'anthropic'] },
        { slug: 'future', title: 'Not out yet', published: '2026-11-30T12:00:00Z', topics: ['gpt-4o'] },
      ],
      [
        { slug: 'gpt-4o', title: 'GPT-4o: the Omni model', topics: ['gpt-4o', 'openai'], updated: '2026-11-23T12:00:00Z' },
        { slug: 'alignment', title: 'Alignment findings', topics: ['alignment', 'gpt-4o'], updated: '2026-11-22T12:00:00Z' },
        { slug: 'claude', title: 'Claude 3.5 Sonnet', topics: ['claude'], updated: '2026-11-21T12:00:00Z' },
      ],
    );
    const config = testConfig({ ALMANAC_OUTBOX: join(dir, 'outbox'), ALMANAC_SECRET: 'test-secret-of-enough-length' });
    db = (await freshStore(dialect)).store;
    transport = createTransport(config);
    server = await createWebServer({ config, store: db, transport, contentDir, clock: () => NOW, log: () => {} });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await serverIdle(server);
    await transport.close();
  });

  describe('the guide page, as published on the newsletter site', () => {
    test('the guide, then "More on <topic> (N)" news cards: importance, source, age, summary and "source ↗"', async () => {
      const { status, page } = await get('/guides/gpt-4o');
      expect(status).toBe(200);
      const visible = text(page);
      expect(visible).toContain('Guide · In-depth');
      expect(visible).toContain('GPT-4o: the Omni model');
      expect(visible).toContain('TL;DR TL;DR of gpt-4o.');
      expect(visible).toContain('Key takeaways');
      expect(page).toMatch(/<h2>What gpt-4o is<\/h2>/);
      // News sharing a topic, newest first; not the one published after now, not the unrelated one.
      expect(visible).toContain('More on GPT-4o (2)');
      expect(visible).toMatch(/9 OpenAI Blog · 24h ago · source ↗ OpenAI says hello to GPT-4o OpenAI announces GPT-4o\. .*7 The Verge · 5d ago · source ↗ Sycophancy rollback Summary of rollback\./);
      expect(page).toMatch(/<strong[^>]*>GPT-4o<\/strong>/);
      expect(page).toContain('href="https://news.example/hello"');
      expect(visible).not.toContain('Not out yet');
      expect(visible).not.toContain('Claude 3.5 Sonnet tops SWE-bench');
    });

    test('related guides and related topics come from the shared topics', async () => {
      const { page } = await get('/guides/gpt-4o');
      const visible = text(page);
      expect(visible).toContain('Related guides (1)');
      expect(page).toContain('href="/guides/alignment"');
      expect(page).not.toContain('href="/guides/claude"');
      // The guide's other topic, then the topics its news mention; named as the titles spell them.
      expect(visible).toMatch(/Related topics OpenAI Alignment/);
      expect(page).toMatch(/<a class="chip" href="\/guides\/alignment">Alignment<\/a>/);
    });

    test('the "Stay current" box subscribes through the same form fields as /subscribe', async () => {
      const { page } = await get('/guides/gpt-4o');
      expect(text(page)).toContain('Stay current Call Me Almanac pairs the week’s AI news with guides like this one — Midweek & Sunday.');
      const form = /<form method="post" action="\/subscribe">([\s\S]*?)<\/form>/.exec(page)?.[1];
      expect(form).toBeDefined();
      const fields = new URLSearchParams();
      for (const m of form!.matchAll(/<input [^>]*name="([^"]+)"[^>]*>/g)) {
        const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
        if (m[1] === 'email') fields.append('email', 'box@example.com');
        else if (m[1] !== 'website') fields.append(m[1]!, value);
      }
      const res = await fetch(`${origin}/subscribe`, { method: 'POST', body: fields });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Check your inbox');
      expect(await new SubscriberStore(db).findByEmail('box@example.com')).toMatchObject({ status: 'pending', midweek: true, sunday: true });
    });

    test('the home page has a subscribe form and lists the latest editions and the guides', async () => {
      await insertEditions(db, [['2026-11-22-sunday', 'sunday', 2, '2026-11-22T08:00:00.000Z', 'Sunday No. 2: the week', 'What happened', '<html></html>', 'sent']]);
      const { page } = await get('/');
      const visible = text(page);
      expect(page).toMatch(/<form method="post" action="\/subscribe">[\s\S]*name="email"[\s\S]*<\/form>/);
      expect(visible).toContain('Latest editions');
      expect(page).toContain('href="/archive/2026-11-22-sunday"');
      expect(visible).toContain('Sunday No. 2: the week');
      expect(visible).toMatch(/Guides .*GPT-4o: the Omni model.*Alignment findings.*Claude 3\.5 Sonnet/);
    });
  });

  describe('pages follow the content without a restart', () => {
    test('an edited guide, an edited or added news item and a removed guide show at the next request', async () => {
      const guideFile = join(contentDir, 'guides', 'gpt-4o.md');
      const original = readFileSync(guideFile, 'utf8');
      expect(text((await get('/guides/gpt-4o')).page)).toContain('GPT-4o: the Omni model');
      writeFileSync(guideFile, original.replace('GPT-4o: the Omni model', 'GPT-4o, retitled'));
      expect(text((await get('/guides/gpt-4o')).page)).toContain('GPT-4o, retitled');
      expect(text((await get('/')).page)).toContain('GPT-4o, retitled');

      const newsFile = join(contentDir, 'news', 'hello.md');
      writeFileSync(newsFile, readFileSync(newsFile, 'utf8').replace('OpenAI announces', 'OpenAI unveils'));
      writeFileSync(
        join(contentDir, 'news', 'added.md'),
        '---\ntitle: A later story\nsource: Wire\nurl: https://news.example/added\npublished: 2026-11-25T06:00:00Z\nscore: 4\ntopics: [openai]\n---\nAdded.\n',
      );
      const after = text((await get('/guides/gpt-4o')).page);
      expect(after).toContain('OpenAI unveils GPT-4o.');
      expect(after).toContain('More on GPT-4o (3)');
      expect(after).toMatch(/4 Wire · 6h ago · source ↗ A later story/);

      rmSync(join(contentDir, 'guides', 'alignment.md'));
      expect((await get('/guides/alignment')).status).toBe(404);
      expect(text((await get('/guides/gpt-4o')).page)).not.toContain('Related guides');
    });

    test('invalid content gives 503 on guide pages, the home page still answers, and the fix shows', async () => {
      const file = join(contentDir, 'guides', 'claude.md');
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, original.replace(/^tldr: .*$/m, 'tldr:'));
      expect((await get('/guides/claude')).status).toBe(503);
      expect((await get('/')).status).toBe(200);
      writeFileSync(file, original);
      expect((await get('/guides/claude')).status).toBe(200);
    });
  });
});

describe('content and page caches', () => {
  test('the content is loaded once per change of its files, not once per request', async () => {
    const dir = writeContent([{ published: '2026-11-20T10:00:00Z', topics: ['x'] }], [{ slug: 'g', topics: ['x'] }]);
    let loads = 0;
    const cache = new ContentCache(dir, (d) => {
      loads++;
      return loadValidContent(d);
    });
    const first = await cache.current();
    for (let i = 0; i < 50; i++) expect(await cache.current()).toBe(first);
    expect(loads).toBe(1);
    writeFileSync(join(dir, 'news', 'item-1.md'), readFileSync(join(dir, 'news', 'item-1.md'), 'utf8').replace('Item 1', 'Item one'));
    const second = await cache.current();
    expect(second.version).not.toBe(first.version);
    expect(second.content.news[0]!.title).toBe('Item one');
    expect(loads).toBe(2);
  });

  test('a page is rendered once per state', () => {
    const pages = new PageCache();
    let renders = 0;
    const render = () => `page ${++renders}`;
    expect(pages.get('a', 'v1', render)).toBe('page 1');
    expect(pages.get('a', 'v1', render)).toBe('page 1');
    expect(pages.get('b', 'v1', render)).toBe('page 2');
    expect(pages.get('a', 'v2', render)).toBe('page 3');
  });

  test('topic names follow how titles spell them', async () => {
    const names = topicNames(await loadValidContent('content'));
    expect(names.get('gpt-4o')).toBe('GPT-4o');
    expect(names.get('openai')).toBe('OpenAI');
    expect(names.get('gpt-4o-mini')).toBe('GPT-4o mini');
  });
});
