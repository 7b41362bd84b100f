/**
 * The edition and settings every bench uses: the full Sunday of 2026-11-22 (12 news items,
 * 3 guides) from the shipped content, on a made-up site. The compiled sender child
 * (scripts/bench-sender.ts) imports this file, so it imports only from `src/` (and nothing of
 * the bench's parent process).
 */
import { loadConfig, type Config } from '../../src/config.ts';
import type { Edition } from '../../src/editions/compose.ts';
import { composeEdition } from '../../src/editions/edition-for.ts';
import { renderEdition } from '../../src/render/render-edition.ts';
import type { RenderedEdition } from '../../src/render/types.ts';

/** The edition every run sends: a full Sunday (12 news items, 3 guides) from the shipped content. */
export const BENCH_KIND = 'sunday' as const;
export const BENCH_DATE = '2026-11-22';
export const BENCH_SECRET = 'bench-secret-0123456789abcdef';
export const BENCH_BASE_URL = 'https://almanac.example';

/** DKIM settings for a signed run: keys generated for it (PEM), never written to disk. */
export interface BenchDkim {
  domain: string;
  selector: string;
  privateKey: string;
  ed25519?: { selector: string; privateKey: string };
}

/** The sender's config: the sink as SMTP server, rate limit off, everything else as shipped. */
export function benchConfig(input: { dbPath: string; contentDir: string; port: number; connections: number; dkim?: BenchDkim; tracking?: boolean }): Config {
  return loadConfig({
    ALMANAC_DB: input.dbPath,
    ALMANAC_CONTENT_DIR: input.contentDir,
    ALMANAC_BASE_URL: BENCH_BASE_URL,
    ALMANAC_SECRET: BENCH_SECRET,
    SMTP_URL: `smtp://127.0.0.1:${input.port}`,
    SMTP_MAX_CONNECTIONS: String(input.connections),
    SMTP_RATE_LIMIT: '0',
    ...(input.tracking ? { ALMANAC_TRACKING: 'clicks' } : {}),
    ...(input.dkim
      ? {
          DKIM_DOMAIN: input.dkim.domain,
          DKIM_SELECTOR: input.dkim.selector,
          DKIM_PRIVATE_KEY: input.dkim.privateKey,
          ...(input.dkim.ed25519 ? { DKIM_ED25519_SELECTOR: input.dkim.ed25519.selector, DKIM_ED25519_PRIVATE_KEY: input.dkim.ed25519.privateKey } : {}),
        }
      : {}),
  });
}

/** Composes the bench's edition from `contentDir` (default: the config's). */
export async function composeBenchEdition(config: Config, contentDir = config.contentDir): Promise<Edition> {
  return (await composeEdition(BENCH_KIND, BENCH_DATE, config, contentDir)).edition;
}

/** Composes the bench's edition from `contentDir` (default: the config's) and renders it once. */
export async function renderBenchEdition(config: Config, contentDir = config.contentDir): Promise<{ edition: Edition; rendered: RenderedEdition }> {
  const edition = await composeBenchEdition(config, contentDir);
  const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
  return { edition, rendered };
}
