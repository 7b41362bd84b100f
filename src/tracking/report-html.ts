import { escapeHtml } from '../render/markdown.ts';
import type { EngagementReport } from './report.ts';

/** What the page shows about delivery (the ledger report's fields it uses). */
export interface DeliverySummary {
  editionId: string;
  edition?: { subject: string; sendAt: string } | undefined;
  counts: Record<string, number>;
  total: number;
}

const INK = '#1f2933';
const ACCENT = '#2f5d8a';
const MUTED = '#52606d';

/** A horizontal bar chart of human clicks per link, inline SVG (no script, no external resource). */
export function clicksChart(report: EngagementReport): string {
  const rows = report.links;
  if (rows.length === 0) return '<p>No tracked links.</p>';
  const max = Math.max(1, ...rows.map((l) => l.humanClicks));
  const rowH = 26;
  const labelW = 330;
  const barW = 300;
  const height = rows.length * rowH + 10;
  const bars = rows
    .map((l, i) => {
      const y = 5 + i * rowH;
      const w = Math.round((l.humanClicks / max) * barW);
      const label = l.label.length > 48 ? `${l.label.slice(0, 47)}…` : l.label;
      return (
        `<g><title>${escapeHtml(`${l.label} — ${l.url}: ${l.humanClicks} human clicks`)}</title>` +
        `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end" font-size="12" fill="${INK}">${escapeHtml(`${l.kind === 'guide' ? 'Guide: ' : ''}${label}`)}</text>` +
        `<rect class="bar" x="${labelW}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="${l.kind === 'guide' ? '#8a5a2f' : ACCENT}"/>` +
        `<text x="${labelW + w + 6}" y="${y + 17}" font-size="12" fill="${INK}">${l.humanClicks}</text></g>`
      );
    })
    .join('');
  return `<svg id="clicks-chart" role="img" aria-label="Human clicks per link" xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 60}" height="${height}" viewBox="0 0 ${labelW + barW + 60} ${height}">${bars}</svg>`;
}

/** Copies accepted per minute, as a column chart (inline SVG). */
export function timelineChart(timeline: readonly { minute: string; copies: number }[]): string {
  if (timeline.length === 0) return '<p>No copies recorded as sent.</p>';
  const max = Math.max(1, ...timeline.map((t) => t.copies));
  const colW = Math.max(4, Math.min(40, Math.floor(600 / timeline.length)));
  const h = 160;
  const width = timeline.length * colW + 60;
  const cols = timeline
    .map((t, i) => {
      const ch = Math.max(1, Math.round((t.copies / max) * (h - 20)));
      return `<rect x="${50 + i * colW}" y="${h - ch}" width="${colW - 2}" height="${ch}" fill="${ACCENT}"><title>${escapeHtml(`${t.minute.replace('T', ' ')} UTC: ${t.copies} copies`)}</title></rect>`;
    })
    .join('');
  const first = escapeHtml(timeline[0]!.minute.replace('T', ' '));
  const last = escapeHtml(timeline.at(-1)!.minute.replace('T', ' '));
  return (
    `<svg id="timeline-chart" role="img" aria-label="Copies sent per minute" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h + 30}" viewBox="0 0 ${width} ${h + 30}">` +
    `<text x="45" y="14" text-anchor="end" font-size="11" fill="${MUTED}">${max}</text><text x="45" y="${h}" text-anchor="end" font-size="11" fill="${MUTED}">0</text>` +
    cols +
    `<text x="50" y="${h + 18}" font-size="11" fill="${MUTED}">${first}</text><text x="${width - 10}" y="${h + 18}" text-anchor="end" font-size="11" fill="${MUTED}">${last} UTC</text></svg>`
  );
}

/** One self-contained page (inline CSS and SVG, no script, nothing fetched): delivery timeline and human clicks per link. */
export function reportHtml(delivery: DeliverySummary, engagement: EngagementReport, timeline: readonly { minute: string; copies: number }[]): string {
  const title = `Report: ${delivery.editionId}`;
  const counts = Object.entries(delivery.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `<li>${escapeHtml(state)}: ${n}</li>`)
    .join('');
  const c = engagement.clicks;
  const o = engagement.opens;
  const engagementPart = engagement.tracked
    ? `<h2>Human clicks per link</h2>${clicksChart(engagement)}
<p>${c.human} human clicks${c.uniqueReaders === null ? '' : ` by ${c.uniqueReaders} readers`}. ${c.machine} machine clicks (link scanners, prefetchers, bursts, the hidden link) are kept apart and not counted.</p>
${o.human + o.machine > 0 ? `<p>Opens (an estimate: readers who block images are not counted, and privacy proxies open everything): ${o.human} counted, ${o.machine} machine or privacy-proxy fetches not counted.</p>` : ''}`
    : '<p>Engagement was not tracked for this edition (ALMANAC_TRACKING=off when it was sent).</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;color:${INK};background:#fff;max-width:760px;margin:2em auto;padding:0 1em}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}ul{padding-left:1.2em}svg{max-width:100%;height:auto}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${delivery.edition ? `<p>${escapeHtml(delivery.edition.subject)} · send time ${escapeHtml(delivery.edition.sendAt)}</p>` : ''}
<h2>Delivery</h2><ul>${counts}<li>total: ${delivery.total}</li></ul>
<h2>Copies sent per minute</h2>${timelineChart(timeline)}
${engagementPart}
</body></html>
`;
}
