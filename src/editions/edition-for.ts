import type { Config, Kind } from '../config.ts';
import { loadValidContent, type Content } from '../content/loader.ts';
import { editionOn, nextEdition, type EditionSlot } from './calendar.ts';
import { compose, type Edition } from './compose.ts';

/** The slot for `--date` (snapped to the kind's weekday) or, without one, the next edition from `now`. */
export function slotFor(kind: Kind, date: string | undefined, config: Config, now = new Date()): EditionSlot {
  return date ? editionOn(kind, date, config) : nextEdition(kind, now, config);
}

/** Loads valid content and composes the edition; throws ContentError on invalid content. */
export async function composeEdition(
  kind: Kind,
  date: string | undefined,
  config: Config,
  contentDir = config.contentDir,
  now = new Date(),
): Promise<{ edition: Edition; content: Content }> {
  const content = await loadValidContent(contentDir);
  return { edition: compose(content, slotFor(kind, date, config, now)), content };
}
