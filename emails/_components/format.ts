import { localParts } from '../../src/editions/time.ts';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `2026-11-25` → `Wednesday 25 November 2026`. */
export function longDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return `${DAYS[day]} ${d} ${MONTHS[m - 1]} ${y}`;
}

/**
 * The edition's identity line: `Midweek · No. 47 · Wednesday 25 November 2026`; the weekday is left out
 * where it would repeat the kind's name (`Sunday · No. 47 · 22 November 2026`).
 */
export function editionLine(kindName: string, number: number, date: string): string {
  const full = longDate(date);
  return `${kindName} · No. ${number} · ${full.startsWith(`${kindName} `) ? full.slice(kindName.length + 1) : full}`;
}

/** An instant as its local date in `timeZone`, e.g. `24 Nov 2026`. */
export function shortDate(instant: Date, timeZone: string): string {
  const p = localParts(instant, timeZone);
  return `${p.day} ${MONTHS[p.month - 1]!.slice(0, 3)} ${p.year}`;
}

/** The host of a base URL, for "you subscribed at almanac.example". */
export function siteHost(baseUrl: string): string {
  return URL.canParse(baseUrl) ? new URL(baseUrl).host : baseUrl;
}

/** A guide's estimated reading time: `7 min read`. */
export function readingTime(minutes: number): string {
  return `${minutes} min read`;
}
