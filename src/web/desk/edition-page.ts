import { editionById, type EditionSlot } from '../../editions/calendar.ts';
import { auditOf, type DeskAuditEntry } from '../../store/desk-audit.ts';
import { editionReport, type EditionRun } from '../../store/editions.ts';
import { deliveryTimeline, engagementReport } from '../../tracking/report.ts';
import type { App, Handler } from '../app.ts';
import { html, type SafeHtml } from '../html.ts';
import { signedIn } from './auth.ts';
import { deskEdition, type DeskEdition } from './edition-preview.ts';
import { editionHref, editionTitle, localTime, statePill } from './format.ts';
import { deskMessage, deskPage } from './layout.ts';
import { reportSection } from './report-section.ts';
import type { Who } from './who.ts';

/** Notices shown after an action (fixed texts: nothing from the URL is echoed). */
const NOTICES: Record<string, (who: Who) => string> = {
  'test-sent': (who) => `A test copy went to ${who.editor.email}. It is marked [TEST] and nobody else got it.`,
  'test-failed': () => 'The test copy could not be sent: see the desk activity below, or the server log.',
};

/** The slot an `/desk/editions/<id>` URL names, or undefined. */
export function slotOf(app: App, id: string): EditionSlot | undefined {
  return editionById(id, app.config);
}

function headerSection(app: App, view: DeskEdition): SafeHtml {
  const e = view.edition;
  return html`<h1>${editionTitle(view.slot)}</h1>
<p><strong>${e?.subject ?? 'Subject unknown (invalid content)'}</strong>${e ? html`<br><span class="fine">${e.preheader}</span>` : ''}</p>
<p class="meta">Sends at ${localTime(view.slot.sendAt, app.config.timezone)} · ${statePill(view.status ?? 'draft')} · ${e ? `${e.news.length} news, ${e.guides.length} guide${e.guides.length === 1 ? '' : 's'}` : 'no content'}</p>`;
}

/** LIFECYCLE (issue 24): approve, hold and release, and what changed since the edition was frozen, go here. */
function approvalSection(): SafeHtml {
  return html`<section class="panel" aria-labelledby="approval-h"><h2 id="approval-h">Approval</h2>
<p class="lifecycle">Approval, hold and release, and what changed since the edition was frozen, arrive with the edition lifecycle. Until then the edition goes out as scheduled, as composed from the files at send time.</p></section>`;
}

function checksSection(view: DeskEdition, who: Who): SafeHtml {
  const sent = view.status === 'sent';
  const checks = sent
    ? html`<p>Sent: the checks ran before it went out.</p>`
    : view.problems.length === 0
      ? html`<p>All pre-send checks pass.</p>`
      : html`<ul class="checks">${view.problems.map((p) => html`<li>${p}</li>`)}</ul>`;
  return html`<section class="panel" aria-labelledby="checks-h"><h2 id="checks-h">Pre-send checks</h2>${checks}
<form method="post" action="${editionHref(view.slot.id)}/test-copy"><input type="hidden" name="csrf" value="${who.csrf}"><button type="submit">Send me a test copy</button></form>
<p class="fine">It goes to ${who.editor.email} only, marked [TEST], composed from the files as they are now.</p></section>`;
}

function framesSection(view: DeskEdition): SafeHtml {
  if (!view.html) {
    const why = view.status === 'sent' ? 'No archive copy was kept for this edition.' : 'Nothing to show: see the checks.';
    return html`<section class="panel full" aria-labelledby="copy-h"><h2 id="copy-h">As subscribers get it</h2><p>${why}</p></section>`;
  }
  const src = `${editionHref(view.slot.id)}/copy`;
  const frame = (label: string, width: number) =>
    html`<figure><figcaption>${label} (${width} px)</figcaption><div class="frame-box" tabindex="0" role="region" aria-label="${label} frame"><iframe src="${src}" title="${editionTitle(view.slot)} at ${width} px, as a subscriber gets it" width="${width}" sandbox></iframe></div></figure>`;
  return html`<section class="panel full" aria-labelledby="copy-h"><h2 id="copy-h">As subscribers get it</h2>
<p class="fine">${view.status === 'sent' ? 'The copy it went out as (the archive copy).' : 'Rendered now by the sending path, for a sample subscriber; links in the frames do not open.'} <a href="${src}">Open the copy on its own</a>.</p>
<div class="frames">${frame('Phone', 375)}${frame('Desktop', 660)}</div></section>`;
}

function historySection(app: App, runs: EditionRun[], audit: DeskAuditEntry[]): SafeHtml {
  const tz = app.config.timezone;
  const runItems = runs.map((r) => html`<li>Run ${r.run}: started ${localTime(r.startedAt, tz)}${r.finishedAt ? `, finished ${localTime(r.finishedAt, tz)}` : ', no end recorded'}${r.outcome ? ` · ${r.outcome}` : ''}${r.sent === null ? '' : ` · ${r.sent} sent`}</li>`);
  const auditItems = audit.map((a) => html`<li>${localTime(a.at, tz)} · ${a.actor} · ${a.action}${a.detail ? ` · ${a.detail}` : ''}</li>`);
  return html`<section class="panel" aria-labelledby="history-h"><h2 id="history-h">History</h2>
<h3>On the desk</h3>${auditItems.length ? html`<ul>${auditItems}</ul>` : html`<p>Nothing done on the desk yet.</p>`}
<h3>Send runs</h3>${runItems.length ? html`<ul>${runItems}</ul>` : html`<p>Not sent yet.</p>`}</section>`;
}

/** `GET /desk/editions/<id>`: the edition as subscribers get it (phone and desktop), its checks, a test copy, its history and report. */
export const editionPage = signedIn(async (r, app, who) => {
  const slot = slotOf(app, r.params[0]!);
  if (!slot) return deskMessage(404, 'No such edition', `There is no edition ${r.params[0]}: ids look like 2026-11-29-sunday.`, { who });
  const [view, report, audit] = await Promise.all([deskEdition(app, slot), editionReport(app.db, slot.id), auditOf(app.db, slot.id)]);
  const notice = NOTICES[r.url.searchParams.get('notice') ?? '']?.(who);
  let report_ = html``;
  if (report && report.total > 0) {
    const [engagement, timeline] = await Promise.all([engagementReport(app.db, slot.id), deliveryTimeline(app.db, slot.id)]);
    report_ = reportSection(report, engagement, timeline);
  }
  const body = html`${headerSection(app, view)}
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<div class="desk-grid">
${checksSection(view, who)}
${approvalSection()}
${framesSection(view)}
${historySection(app, report?.runs ?? [], audit)}
${report_}
</div>`;
  return deskPage(200, editionTitle(slot), body, { who });
});

/** The sandbox the copy is served in: no scripts, no forms, no plugins, its own opaque origin; framed only by the desk. */
const COPY_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/** `GET /desk/editions/<id>/copy`: the copy alone, for the edition page's frames (or a tab of its own), sandboxed by its CSP. */
export const editionCopy: Handler = signedIn(async (r, app) => {
  const slot = slotOf(app, r.params[0]!);
  const view = slot && (await deskEdition(app, slot));
  if (!view?.html) return deskMessage(404, 'Nothing to show', 'This edition has no copy to show: open its page for the checks.');
  return { status: 200, type: 'html', body: view.html, headers: { 'Content-Security-Policy': COPY_CSP, 'X-Frame-Options': 'SAMEORIGIN', 'X-Robots-Tag': 'noindex' } };
});
