import type { EditionReport } from '../../store/editions.ts';
import { clicksChart, timelineChart } from '../../tracking/report-html.ts';
import type { EngagementReport } from '../../tracking/report.ts';
import { html, raw, type SafeHtml } from '../html.ts';
import { count } from './format.ts';

/** What `report --html` shows, inside a desk page: delivery counts and timeline, bounces and complaints, engagement. */
export function reportSection(report: EditionReport, engagement: EngagementReport, timeline: readonly { minute: string; copies: number }[]): SafeHtml {
  const counts = Object.entries(report.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => html`<li>${state.replace('_', ' ')}: <strong>${count(n)}</strong></li>`);
  const l = report.late;
  const c = engagement.clicks;
  const o = engagement.opens;
  const engagementPart = engagement.tracked
    ? html`<h3>Human clicks per link</h3>${raw(clicksChart(engagement))}
<p>${count(c.human)} human clicks${c.uniqueReaders === null ? '' : ` by ${count(c.uniqueReaders)} readers`}. ${count(c.machine)} machine clicks (link scanners, prefetchers, bursts, the hidden link) are kept apart and not counted.</p>
${o.human + o.machine > 0 ? html`<p>Opens (an estimate: readers who block images are not counted): ${count(o.human)} counted, ${count(o.machine)} machine or privacy-proxy fetches not counted.</p>` : ''}`
    : html`<p>Engagement was not tracked for this edition (ALMANAC_TRACKING=off when it was sent).</p>`;
  return html`<section class="panel" aria-labelledby="report-h"><h2 id="report-h">Report</h2>
<h3>Delivery</h3><ul>${counts}<li>recipients in the ledger: <strong>${count(report.total)}</strong></li></ul>
<p>After the relay accepted them: ${count(l.bounced)} bounced, ${count(l.soft_bounced)} soft-bounced, ${count(l.complained)} complained, ${count(l.failed)} failed for other reasons.</p>
<h3>Copies sent per minute</h3>${raw(timelineChart(timeline))}
${engagementPart}</section>`;
}
