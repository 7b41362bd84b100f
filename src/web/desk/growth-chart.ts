import { addDays } from '../../editions/time.ts';
import type { DayChanges } from '../../store/desk-queries.ts';
import { html, raw, type SafeHtml } from '../html.ts';
import { scrollTable } from './format.ts';

/** One week of the chart. */
export interface WeekChanges {
  /** First day (UTC) of the week. */
  from: string;
  joined: number;
  left: number;
}

/** Weeks shown. */
export const GROWTH_WEEKS = 12;

/** The first day of the chart's range: `weeks` whole weeks ending with `today` (UTC). */
export function growthStart(today: string, weeks = GROWTH_WEEKS): string {
  return addDays(today, 1 - 7 * weeks);
}

/** Sums days into `weeks` weeks ending with `today` (UTC), oldest first. */
export function weeklyChanges(days: readonly DayChanges[], today: string, weeks = GROWTH_WEEKS): WeekChanges[] {
  const start = growthStart(today, weeks);
  const out = Array.from({ length: weeks }, (_, i) => ({ from: addDays(start, 7 * i), joined: 0, left: 0 }));
  for (const d of days) {
    const i = out.findIndex((w, j) => d.day >= w.from && (j === weeks - 1 || d.day < out[j + 1]!.from));
    if (i < 0 || d.day > today) continue;
    out[i]!.joined += d.joined;
    out[i]!.left += d.left;
  }
  return out;
}

/** Joined (up) and left (down) per week as an inline SVG column chart, with the figures as a table beside it. */
export function growthChart(weeks: readonly WeekChanges[]): SafeHtml {
  const max = Math.max(1, ...weeks.map((w) => Math.max(w.joined, w.left)));
  const col = 40;
  const half = 70;
  const width = weeks.length * col + 40;
  const height = half * 2 + 40;
  const bars = weeks.map((w, i) => {
    const x = 36 + i * col;
    const up = Math.round((w.joined / max) * (half - 4));
    const down = Math.round((w.left / max) * (half - 4));
    const label = w.from.slice(5).replace('-', '/');
    return html`<g><title>Week from ${w.from}: ${w.joined} joined, ${w.left} left</title><rect x="${x}" y="${10 + half - up}" width="${col - 10}" height="${up}" fill="#1f6b4f"/><rect x="${x}" y="${10 + half}" width="${col - 10}" height="${down}" fill="#a61b1b"/>${i % 2 === 0 ? html`<text x="${x}" y="${height - 6}" font-size="11" fill="#3b3a36">${label}</text>` : ''}</g>`;
  });
  const total = weeks.reduce((a, w) => ({ joined: a.joined + w.joined, left: a.left + w.left }), { joined: 0, left: 0 });
  const svg = html`<svg role="img" aria-label="Subscribers who joined (up) and left (down) per week, last ${weeks.length} weeks: ${total.joined} joined, ${total.left} left" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><text x="30" y="18" text-anchor="end" font-size="11" fill="#3b3a36">${max}</text><line x1="34" x2="${width}" y1="${10 + half}" y2="${10 + half}" stroke="#55595f"/><text x="30" y="${10 + half + 4}" text-anchor="end" font-size="11" fill="#3b3a36">0</text><text x="30" y="${10 + 2 * half}" text-anchor="end" font-size="11" fill="#3b3a36">${max}</text>${bars}</svg>`;
  const rows = weeks.map((w) => html`<tr><td>${w.from}</td><td class="n">${w.joined}</td><td class="n">${w.left}</td></tr>`);
  return html`${raw(svg.value)}
<details><summary>The figures</summary>${scrollTable('Joined and left per week', html`<table class="data"><caption class="fine">Per week (UTC), oldest first; “left” counts people by the day of their last change.</caption><thead><tr><th scope="col">Week from</th><th scope="col">Joined</th><th scope="col">Left</th></tr></thead><tbody>${rows}</tbody></table>`)}</details>`;
}
