import { auditOf, recordDeskAudit } from '../../store/desk-audit.ts';
import { deliveriesOf } from '../../store/desk-queries.ts';
import { isLiftable, suppressionReasonIn } from '../../store/suppression.ts';
import { editionsOf, STATUSES, type Subscriber, type UnsuppressOutcome } from '../../store/types.ts';
import { isValidEmail, normaliseEmail } from '../../subscribers/email.ts';
import type { App } from '../app.ts';
import { html, type SafeHtml } from '../html.ts';
import { field } from '../http.ts';
import { signedIn } from './auth.ts';
import { count, editionHref, localTime, scrollTable, statePill } from './format.ts';
import { deskMessage, deskPage, seeOther } from './layout.ts';
import type { Who } from './who.ts';

/** What lifting a suppression came to, as the page says it (fixed texts: nothing from the URL is echoed). */
const NOTICES: Record<string, string> = {
  lifted: 'The suppression was lifted: the subscriber gets the editions they chose again (or, if they never confirmed, nothing until they do).',
  'not-suppressed': 'This subscriber is not suppressed; nothing changed.',
  unsubscribed: 'This person unsubscribed: lifting never revives them. They can subscribe again through the form.',
  erased: 'This address was erased (only a hash is kept): it is never revived.',
  unknown: 'There is no subscriber with this address; nothing changed.',
};

async function countsPanel(app: App): Promise<SafeHtml> {
  const counts = await app.store.counts();
  return html`<section class="panel" aria-labelledby="counts-h"><h2 id="counts-h">By state</h2>
<ul>${STATUSES.map((s) => html`<li>${s}: <strong>${count(counts.byStatus[s])}</strong></li>`)}</ul><p>${count(counts.total)} in all.</p></section>`;
}

function searchForm(email: string): SafeHtml {
  return html`<form method="get" action="/desk/subscribers"><label for="find">Find a subscriber by address</label><input id="find" name="email" type="email" required value="${email}"><button type="submit">Find</button></form>`;
}

async function subscriberPanel(app: App, who: Who, s: Subscriber, suppressed: string | undefined): Promise<SafeHtml> {
  const tz = app.config.timezone;
  const [deliveries, audit] = await Promise.all([deliveriesOf(app.db, s.id, 20), auditOf(app.db, `subscriber ${s.id}`, 10)]);
  const c = s.consent;
  const lifted = s.suppressionLifted;
  const canLift = isLiftable(s.status) || isLiftable(suppressed);
  const rows = deliveries.map(
    (d) => html`<tr><td><a href="${editionHref(d.editionId)}">${d.editionId}</a></td><td>${d.state}</td><td>${localTime(d.updatedAt, tz)}</td><td>${d.late ? `${d.late.status ?? ''} ${d.late.diagnostic ?? ''}`.trim() : (d.lastReply ?? '')}</td></tr>`,
  );
  return html`<section class="panel full" aria-labelledby="one-h"><h2 id="one-h">${s.email}</h2>
<p>${statePill(s.status)} · editions: ${editionsOf(s).join(', ') || 'none'} · subscriber ${s.id}${suppressed ? ` · on the suppression list (${suppressed})` : ''}</p>
<ul><li>Consent: ${c.source ?? 'unknown'}${c.requestedAt ? `, asked ${localTime(c.requestedAt, tz)}` : ''}${c.confirmedAt ? `, confirmed ${localTime(c.confirmedAt, tz)}` : ', not confirmed'}</li>
<li>Soft bounces in a row: ${s.softBounces}${s.lastReply ? ` · last reply: ${s.lastReply}` : ''}</li>
${lifted ? html`<li>Suppression (${lifted.from}) lifted ${localTime(lifted.at, tz)} by ${lifted.by}</li>` : ''}</ul>
${canLift ? html`<form method="post" action="/desk/subscribers/unsuppress"><input type="hidden" name="csrf" value="${who.csrf}"><input type="hidden" name="email" value="${s.email}"><button type="submit">Lift the ${s.status === 'complained' || suppressed === 'complained' ? 'complaint' : 'bounce'} suppression</button></form>` : ''}
<h3>Copies</h3>${rows.length ? html`${scrollTable('Copies sent to this subscriber', html`<table class="data"><thead><tr><th scope="col">Edition</th><th scope="col">State</th><th scope="col">Last change</th><th scope="col">Reply</th></tr></thead><tbody>${rows}</tbody></table>`)}` : html`<p>No copy sent yet.</p>`}
<h3>On the desk</h3>${audit.length ? html`<ul>${audit.map((a) => html`<li>${localTime(a.at, tz)} · ${a.actor} · ${a.action}${a.detail ? ` · ${a.detail}` : ''}</li>`)}</ul>` : html`<p>Nothing done on the desk.</p>`}</section>`;
}

async function findPanel(app: App, who: Who, email: string): Promise<SafeHtml> {
  if (!isValidEmail(email)) return html`<p class="error" role="alert">"${email}" is not a valid email address.</p>`;
  const normal = normaliseEmail(email);
  const [s, suppressed] = await Promise.all([app.store.findByEmail(normal), suppressionReasonIn(app.db.db, normal)]);
  if (s) return subscriberPanel(app, who, s, suppressed);
  return html`<p role="status">${suppressed === 'erased' ? 'This address was erased: only a hash of it is kept, on the suppression list.' : 'No subscriber has this address.'}</p>`;
}

/**
 * `GET /desk/subscribers[?email=…]`: counts by state for every editor; finding one subscriber (state,
 * consent, copies, desk history, lifting a suppression) for admins only.
 */
export const subscribersPage = signedIn(async (r, app, who) => {
  const email = r.url.searchParams.get('email');
  const admin = who.editor.role === 'admin';
  if (email !== null && !admin) return deskMessage(403, 'For admins only', 'Finding a subscriber is for the desk’s admins; editors see the counts.', { who });
  const notice = NOTICES[r.url.searchParams.get('notice') ?? ''];
  const body = html`<h1>Subscribers</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<div class="desk-grid">
${await countsPanel(app)}
<section class="panel" aria-labelledby="find-h"><h2 id="find-h">Find one</h2>${admin ? searchForm(email ?? '') : html`<p>Finding a subscriber by address is for admins.</p>`}</section>
${email !== null ? await findPanel(app, who, email) : ''}
</div>`;
  return deskPage(200, 'Subscribers', body, { who });
});

function auditDetail(outcome: UnsuppressOutcome): string {
  if (outcome.result !== 'lifted') return `refused: ${outcome.result}`;
  return `lifted the ${outcome.from} suppression; now ${outcome.subscriber.status}`;
}

/** `POST /desk/subscribers/unsuppress` (admins): lifts a bounce or complaint suppression, as `almanac subscribers unsuppress` does; written to the audit log. */
export const unsuppress = signedIn(async (r, app, who) => {
  const email = normaliseEmail(field(await r.body(), 'email') ?? '');
  if (!isValidEmail(email)) return deskMessage(400, 'No address', 'The form named no valid address; nothing changed.', { who });
  const outcome = await app.store.unsuppress(email);
  if ('subscriber' in outcome) {
    await recordDeskAudit(app.db, { at: app.clock().toISOString(), actor: who.editor.email, action: 'unsuppress', subject: `subscriber ${outcome.subscriber.id}`, detail: auditDetail(outcome) });
  }
  return seeOther(`/desk/subscribers?email=${encodeURIComponent(email)}&notice=${outcome.result}`);
}, 'admin');
