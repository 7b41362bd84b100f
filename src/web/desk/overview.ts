import { KIND_NAMES } from '../../editions/calendar.ts';
import { zonedDate } from '../../editions/time.ts';
import { recentAudit, type DeskAuditEntry } from '../../store/desk-audit.ts';
import { subscriberChangesByDay } from '../../store/desk-queries.ts';
import { STATUSES } from '../../store/types.ts';
import type { App } from '../app.ts';
import { html, type SafeHtml } from '../html.ts';
import { signedIn } from './auth.ts';
import { count, editionHref, editionTitle, localTime, scrollTable, statePill } from './format.ts';
import { growthChart, growthStart, weeklyChanges } from './growth-chart.ts';
import { schedulerSection } from './health-section.ts';
import { deskPage } from './layout.ts';
import { comingEditions, lastSent, type ComingEdition, type SentOutcome } from './overview-data.ts';

/**
 * LIFECYCLE (issue 24): the approval state of an edition ("approval needed", approved by/at, held) and
 * whether its files changed since it was frozen come with the edition lifecycle; until it is merged the
 * desk says so in this marked place rather than guessing.
 */
export function approvalCell(_c: ComingEdition): SafeHtml {
  return html`<td class="lifecycle">not tracked yet</td>`;
}

function comingSection(app: App, coming: ComingEdition[]): SafeHtml {
  const rows = coming.map(
    (c) => html`<tr><td><a href="${editionHref(c.slot.id)}">${editionTitle(c.slot)}</a></td><td>${localTime(c.slot.sendAt, app.config.timezone)}</td><td>${statePill(c.state)}</td><td class="n">${c.news ?? '?'}</td>${approvalCell(c)}</tr>`,
  );
  return html`<section class="panel full" aria-labelledby="coming-h"><h2 id="coming-h">Coming editions</h2>
${scrollTable('Coming editions', html`<table class="data"><thead><tr><th scope="col">Edition</th><th scope="col">Sends at</th><th scope="col">State</th><th scope="col">News</th><th scope="col">Approval</th></tr></thead><tbody>${rows}</tbody></table>`)}
<p class="fine">Times in ${app.config.timezone}. “News” is what the edition holds with today’s files; open an edition to see it as subscribers will. Approval arrives with the edition lifecycle.</p></section>`;
}

function sentSection(sent: SentOutcome[], tracking: boolean): SafeHtml {
  if (sent.length === 0) return html`<section class="panel full" aria-labelledby="sent-h"><h2 id="sent-h">Last sent</h2><p>No edition has been sent yet.</p></section>`;
  const clicks = tracking || sent.some((s) => s.humanClicks !== undefined);
  const rows = sent.map(
    (s) =>
      html`<tr><td><a href="${editionHref(s.edition.id)}">${s.edition.subject}</a><br><span class="fine">${s.edition.id}</span></td><td class="n">${count(s.delivered)}</td><td class="n">${count(s.failed)}</td><td class="n">${count(s.inDoubt)}</td><td class="n">${count(s.bounced)}</td><td class="n">${count(s.complained)}</td>${clicks ? html`<td class="n">${s.humanClicks === undefined ? 'not tracked' : count(s.humanClicks)}</td>` : ''}</tr>`,
  );
  return html`<section class="panel full" aria-labelledby="sent-h"><h2 id="sent-h">Last sent</h2>
${scrollTable('Last sent editions', html`<table class="data"><thead><tr><th scope="col">Edition</th><th scope="col">Delivered</th><th scope="col">Failed</th><th scope="col">In doubt</th><th scope="col">Bounced</th><th scope="col">Complained</th>${clicks ? html`<th scope="col">Human clicks</th>` : ''}</tr></thead><tbody>${rows}</tbody></table>`)}
<p class="fine">Delivered: accepted by the relay and not bounced since. Failed includes copies still deferred. Bounced includes soft bounces after delivery.</p></section>`;
}

async function subscribersSection(app: App, now: Date): Promise<SafeHtml> {
  const today = zonedDate(now, 'UTC');
  const [counts, days] = await Promise.all([app.store.counts(), subscriberChangesByDay(app.db, new Date(`${growthStart(today)}T00:00:00Z`))]);
  const states = STATUSES.map((s) => html`<li>${s}: <strong>${count(counts.byStatus[s])}</strong></li>`);
  return html`<section class="panel" aria-labelledby="subs-h"><h2 id="subs-h">Subscribers</h2>
<p>${count(counts.total)} in all; active by edition: ${KIND_NAMES.midweek} ${count(counts.byEdition.midweek)}, ${KIND_NAMES.sunday} ${count(counts.byEdition.sunday)}.</p>
<ul>${states}</ul>
<h3>Joined and left, last 12 weeks</h3>
${growthChart(weeklyChanges(days, today))}</section>`;
}

function activitySection(app: App, entries: DeskAuditEntry[]): SafeHtml {
  const items = entries.map((e) => html`<li>${localTime(e.at, app.config.timezone)} · ${e.actor} · ${e.action} · ${e.subject}${e.detail ? html` <span class="fine">(${e.detail})</span>` : ''}</li>`);
  return html`<section class="panel" aria-labelledby="activity-h"><h2 id="activity-h">Desk activity</h2>${entries.length ? html`<ul>${items}</ul>` : html`<p>Nothing yet.</p>`}</section>`;
}

/** `GET /desk`: the coming editions, the last sent ones, subscribers, the scheduler, recent desk activity. */
export const overview = signedIn(async (_r, app, who) => {
  const now = app.clock();
  const [coming, sent, subscribers, scheduler, activity] = await Promise.all([
    comingEditions(app, now),
    lastSent(app),
    subscribersSection(app, now),
    schedulerSection(app),
    recentAudit(app.db, 8),
  ]);
  const body = html`<h1>The desk</h1>
<p>${who.editor.name ?? who.editor.email}, it is ${localTime(now, app.config.timezone)}.</p>
<div class="desk-grid">
${comingSection(app, coming)}
${sentSection(sent, app.config.tracking.clicks)}
${subscribers}
${scheduler}
${activitySection(app, activity)}
</div>`;
  return deskPage(200, 'Overview', body, { who });
});
