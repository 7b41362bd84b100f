import { KINDS, type Config, type Kind, type SendTime } from '../config.ts';
import { addDays, daysBetween, formatLocal, weekday, zonedDate, zonedInstant, type DateString } from './time.ts';

export type CalendarConfig = Pick<Config, 'timezone' | 'schedule' | 'firstEditionDate'>;

/** Where an edition sits in time: its date, send instant, window and number. */
export interface EditionSlot {
  /** `YYYY-MM-DD-midweek` / `YYYY-MM-DD-sunday`. */
  id: string;
  kind: Kind;
  /** Local calendar date of the send instant. */
  date: DateString;
  sendAt: Date;
  /** `from < published <= to`: after the previous Sunday edition, up to this one. */
  window: { from: Date; to: Date };
  /** Editions of this kind counted from `firstEditionDate` (the first is 1). */
  number: number;
}

export const KIND_NAMES: Record<Kind, string> = { midweek: 'Midweek', sunday: 'Sunday' };

function instantOn(date: DateString, at: SendTime, config: CalendarConfig): Date {
  return zonedInstant(date, at.hour, at.minute, config.timezone);
}

/** The first date on or after `date` that falls on `day`. */
function onOrAfter(date: DateString, day: number): DateString {
  return addDays(date, (day - weekday(date) + 7) % 7);
}

/** The send instant of the Sunday edition before `instant` (strictly). */
function previousSundayInstant(instant: Date, config: CalendarConfig): Date {
  const at = config.schedule.sunday;
  let date = zonedDate(instant, config.timezone);
  for (let i = 0; i < 15; i++, date = addDays(date, -1)) {
    if (weekday(date) !== at.weekday) continue;
    const candidate = instantOn(date, at, config);
    if (candidate < instant) return candidate;
  }
  throw new Error(`no Sunday edition before ${instant.toISOString()}`);
}

/**
 * The edition of `kind` on `date`, or on the first day after it that the kind goes out.
 * `compose midweek --date 2026-11-26` (a Thursday) is the Midweek of 2026-12-02.
 */
export function editionOn(kind: Kind, date: DateString, config: CalendarConfig): EditionSlot {
  const at = config.schedule[kind];
  const day = onOrAfter(date, at.weekday);
  const sendAt = instantOn(day, at, config);
  const first = onOrAfter(config.firstEditionDate, at.weekday);
  return {
    id: `${day}-${kind}`,
    kind,
    date: day,
    sendAt,
    window: { from: previousSundayInstant(sendAt, config), to: sendAt },
    number: Math.floor(daysBetween(first, day) / 7) + 1,
  };
}

/** The first edition of `kind` whose send instant is after `now`. */
export function nextEdition(kind: Kind, now: Date, config: CalendarConfig): EditionSlot {
  const today = zonedDate(now, config.timezone);
  const slot = editionOn(kind, today, config);
  return slot.sendAt > now ? slot : editionOn(kind, addDays(slot.date, 1), config);
}

/** The last edition of `kind` whose send instant is at or before `now`. */
export function latestEdition(kind: Kind, now: Date, config: CalendarConfig): EditionSlot {
  const next = nextEdition(kind, now, config);
  return editionOn(kind, addDays(next.date, -7), config);
}

/** Parses an edition id back into its slot; undefined when it is not one. */
export function editionById(id: string, config: CalendarConfig): EditionSlot | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})-(midweek|sunday)$/.exec(id);
  if (!m) return undefined;
  const slot = editionOn(m[2] as Kind, m[1]!, config);
  return slot.id === id ? slot : undefined;
}

/** The next send instant of each kind after `now`: its edition id, local wall-clock time and UTC (ISO). */
export function nextInstants(config: CalendarConfig, now: Date): Record<Kind, { id: string; local: string; utc: string }> {
  const entry = (kind: Kind) => {
    const slot = nextEdition(kind, now, config);
    return { id: slot.id, local: formatLocal(slot.sendAt, config.timezone), utc: slot.sendAt.toISOString() };
  };
  return Object.fromEntries(KINDS.map((kind) => [kind, entry(kind)])) as Record<Kind, { id: string; local: string; utc: string }>;
}
