import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';

/** A fresh temporary directory. */
export function tempDir(prefix = 'almanac-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
