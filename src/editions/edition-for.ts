import type { Config, Kind } from '../config.ts';
import { loadValidContent, type Content, type KindWeekdays } from '../content/loader.ts';
import { addDays } from './time.ts';
import { editionOn, latestEdition, nextEdition, type EditionSlot } from './calendar.ts';
import { compose, type Edition } from './compose.ts';

/** Which edition a command means: a date (snapped to the kind's weekday), `LATEST`, or the next one when undefined. */
export type EditionChoice = string | typeof LATEST | undefined;

/** `--latest`: the most recent edition of the kind that has news, not after now. */
export const LATEST = 'latest';

/** No edition of the kind up to now has any news (`--latest` on content with no news at all). */
export class NoEditionError extends Error {
  override name = 'NoEditionError';
}

/** Each kind's send weekday, for checking edition file names (content/editions/<edition-id>.md). */
export function kindWeekdays(config: Pick<Config, 'schedule'>): KindWeekdays {
  return { midweek: config.schedule.midweek.weekday, sunday: config.schedule.sunday.weekday };
}

/** Loads valid content with edition files checked against this calendar; throws ContentError. */
export function loadEditionContent(config: Config, contentDir = config.contentDir): Promise<Content> {
  return loadValidContent(contentDir, { weekdays: kindWeekdays(config) });
}

/** The slot for `--date` (snapped to the kind's weekday) or, without one, the next edition from `now`. */
export function slotFor(kind: Kind, date: string | undefined, config: Config, now = new Date()): EditionSlot {
  return date ? editionOn(kind, date, config) : nextEdition(kind, now, config);
}

/**
 * The most recent edition of `kind` whose send instant is not after `now` and that has news;
 * undefined when none has (it looks back until the window starts before the oldest news item).
 */
export function latestWithNews(content: Content, kind: Kind, config: Config, now = new Date()): EditionSlot | undefined {
  if (content.news.length === 0) return undefined;
  const oldest = Math.min(...content.news.map((n) => n.published.getTime()));
  for (let slot = latestEdition(kind, now, config); slot.sendAt.getTime() > oldest; slot = editionOn(kind, addDays(slot.date, -7), config)) {
    if (!compose(content, slot).empty) return slot;
  }
  return undefined;
}

/** Loads valid content and composes the chosen edition; throws ContentError on invalid content, NoEditionError for `LATEST` without news. */
export async function composeEdition(
  kind: Kind,
  choice: EditionChoice,
  config: Config,
  contentDir = config.contentDir,
  now = new Date(),
): Promise<{ edition: Edition; content: Content }> {
  const content = await loadEditionContent(config, contentDir);
  if (choice !== LATEST) return { edition: compose(content, slotFor(kind, choice, config, now)), content };
  const slot = latestWithNews(content, kind, config, now);
  if (!slot) throw new NoEditionError(`no ${kind} edition up to ${now.toISOString()} has any news in ${contentDir}`);
  return { edition: compose(content, slot), content };
}
