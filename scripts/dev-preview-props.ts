import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EditionEmailProps } from '../emails/_components/edition-layout.tsx';
import { commandClock, loadConfig, type Config, type Kind } from '../src/config.ts';
import { loadContent, type Content } from '../src/content/loader.ts';
import { editionOn, nextEdition } from '../src/editions/calendar.ts';
import { compose, type Edition } from '../src/editions/compose.ts';
import { addDays } from '../src/editions/time.ts';
import { sampleLinks } from '../src/render/sample-links.ts';

/** How far back the fallback looks for a non-empty edition. */
const MAX_WEEKS_BACK = 104;

function devConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch {
    return loadConfig({});
  }
}

/** Now: the real clock, or the tests' fixed one (ALMANAC_NOW, a test hook: config.ts commandClock). */
function devNow(): Date {
  try {
    return commandClock(process.env)();
  } catch {
    return new Date();
  }
}

/** The upcoming edition of `kind`, or, when it has no news yet, the latest non-empty one before it. */
export function upcomingOrLatest(content: Content, kind: Kind, config: Config, now = new Date()): Edition {
  const upcoming = compose(content, nextEdition(kind, now, config));
  let slot = upcoming;
  for (let week = 1; upcoming.empty && week <= MAX_WEEKS_BACK; week++) {
    const edition = compose(content, editionOn(kind, addDays(slot.date, -7), config));
    if (!edition.empty) return edition;
    slot = edition;
  }
  return upcoming;
}

/**
 * Preview props for `npm run dev` from the real content in ALMANAC_CONTENT_DIR (default ./content):
 * the upcoming edition of `kind`, falling back to the latest non-empty one. Invalid files are skipped
 * (the preview should still show the rest; `content check` reports them).
 */
export async function devPreviewProps(kind: Kind, now = devNow()): Promise<EditionEmailProps> {
  const config = devConfig();
  const { content } = await loadContent(resolve(config.contentDir));
  return {
    edition: upcomingOrLatest(content, kind, config, now),
    links: sampleLinks(config, kind),
    site: { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const kind of ['midweek', 'sunday'] as const) {
    const { edition } = await devPreviewProps(kind);
    process.stdout.write(`${kind}: ${edition.id} (${edition.news.length} news${edition.empty ? ', empty' : ''})\n`);
  }
}
