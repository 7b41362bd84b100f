import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';

const created: string[] = [];

/** A fresh temporary directory, removed after the test file's last test (tests/setup.ts). */
export function tempDir(prefix = 'almanac-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every directory tempDir made in this test file. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A config from defaults plus overrides, never reading the developer's environment. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig(env);
}

export interface NewsFixture {
  slug?: string;
  title?: string;
  source?: string;
  url?: string;
  published: string;
  score?: number;
  topics?: string[];
  summary?: string;
}

export interface GuideFixture {
  slug: string;
  title?: string;
  updated?: string;
  topics?: string[];
  tldr?: string;
  takeaways?: string[];
  recent?: string;
}

/** Writes a content directory from small fixtures and returns its path. */
export function writeContent(news: NewsFixture[], guides: GuideFixture[], dir = tempDir('almanac-content-')): string {
  mkdirSync(join(dir, 'news'), { recursive: true });
  mkdirSync(join(dir, 'guides'), { recursive: true });
  news.forEach((n, i) => {
    const slug = n.slug ?? `item-${i + 1}`;
    writeFileSync(
      join(dir, 'news', `${slug}.md`),
      [
        '---',
        `title: ${JSON.stringify(n.title ?? `Item ${i + 1}`)}`,
        `source: ${n.source ?? 'Test Wire'}`,
        `url: ${n.url ?? `https://news.example/${slug}`}`,
        `published: ${n.published}`,
        `score: ${n.score ?? 5}`,
        `topics: [${(n.topics ?? []).join(', ')}]`,
        '---',
        n.summary ?? `Summary of ${slug}.`,
        '',
      ].join('\n'),
    );
  });
  for (const g of guides) {
    writeFileSync(
      join(dir, 'guides', `${g.slug}.md`),
      [
        '---',
        `title: ${JSON.stringify(g.title ?? `Guide ${g.slug}`)}`,
        'kind: In-depth',
        `updated: ${g.updated ?? '2026-11-01T00:00:00Z'}`,
        `topics: [${(g.topics ?? []).join(', ')}]`,
        `tldr: ${JSON.stringify(g.tldr ?? `TL;DR of ${g.slug}.`)}`,
        'takeaways:',
        ...(g.takeaways ?? [`First takeaway of ${g.slug}.`, `Second takeaway of ${g.slug}.`]).map((t) => `  - ${JSON.stringify(t)}`),
        '---',
        `## What ${g.slug} is`,
        'Body text.',
        '## Recent developments',
        g.recent ?? `Recent developments of ${g.slug}.`,
        '',
      ].join('\n'),
    );
  }
  return dir;
}

/** A loopback TCP port nobody listens on right now (for a server that needs its URL before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}
