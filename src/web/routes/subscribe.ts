import { KINDS, type Kind, type TrackingConfig } from '../../config.ts';
import { KIND_NAMES } from '../../editions/calendar.ts';
import { CONSENT_WORDINGS, CURRENT_CONSENT_VERSION, currentConsentWording } from '../../subscribers/consent.ts';
import { parseEditions } from '../../subscribers/csv.ts';
import { isValidEmail, normaliseEmail } from '../../subscribers/email.ts';
import type { Handler } from '../app.ts';
import { sendConfirmation } from '../confirmation.ts';
import { html } from '../html.ts';
import { trackingNote } from '../tracking-note.ts';
import { field, wantsJson, type ParsedBody } from '../http.ts';
import { errorReply, json, page } from '../pages.ts';
import { rateLimitKey } from '../rate-limit.ts';

const KIND_BLURBS: Record<Kind, string> = {
  midweek: 'Wednesday morning: the week so far, in six stories.',
  sunday: 'Sunday morning: the week in review, with guides.',
};

interface FormValues {
  email: string;
  name: string;
  editions: Kind[];
  error?: string;
}

function form(values: FormValues, tracking: TrackingConfig) {
  return html`<h1>Subscribe</h1>
<p>Two short emails about AI a week, or just the one you choose. Free. ${trackingNote(tracking)}.</p>
${values.error ? html`<p class="error" role="alert">${values.error}</p>` : ''}
<form method="post" action="/subscribe">
<label for="email">Email address</label>
<input id="email" name="email" type="email" required autocomplete="email" inputmode="email" value="${values.email}">
<label for="name">Name <span class="fine">(optional)</span></label>
<input id="name" name="name" type="text" autocomplete="name" maxlength="200" value="${values.name}">
<fieldset><legend>Editions</legend>
${KINDS.map(
  (k) => html`<label class="check"><input type="checkbox" name="editions" value="${k}"${values.editions.includes(k) ? html` checked` : ''}> <span><strong>${KIND_NAMES[k]}</strong> <span class="fine">${KIND_BLURBS[k]}</span></span></label>`,
)}
</fieldset>
<input type="hidden" name="editions_shown" value="1">
<input type="hidden" name="consent_version" value="${CURRENT_CONSENT_VERSION}">
<div style="position:absolute;left:-10000px" aria-hidden="true"><label for="website">Leave this empty</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<p class="fine">${currentConsentWording()}</p>
<button type="submit">Subscribe</button>
</form>`;
}

/** `GET /subscribe`: the form, with the consent wording it records. */
export const subscribeForm: Handler = (_r, app) => page(200, 'Subscribe', form({ email: '', name: '', editions: [...KINDS] }, app.config.tracking));

interface Request {
  email: string;
  name: string;
  editions: Kind[] | { unknown: string } | 'none';
  wording: string;
  bot: boolean;
}

function readRequest(body: ParsedBody): Request {
  if (body.kind === 'json') {
    const o = (typeof body.json === 'object' && body.json !== null ? body.json : {}) as Record<string, unknown>;
    const rawEditions = Array.isArray(o.editions) ? o.editions.map(String).join(',') : typeof o.editions === 'string' ? o.editions : '';
    const parsed = parseEditions(rawEditions);
    return {
      email: typeof o.email === 'string' ? o.email : '',
      name: typeof o.name === 'string' ? o.name : '',
      editions: 'unknown' in parsed ? parsed : parsed.editions,
      wording: CURRENT_CONSENT_VERSION,
      bot: false,
    };
  }
  const chosen = (body.fields.get('editions') ?? []).join(',');
  const parsed = parseEditions(chosen);
  // The form always sends editions_shown: with no box ticked that means none, not the API default (both).
  const editions = 'unknown' in parsed ? parsed : chosen.trim() === '' && field(body, 'editions_shown') ? 'none' : parsed.editions;
  const version = field(body, 'consent_version') ?? '';
  return {
    email: field(body, 'email') ?? '',
    name: field(body, 'name') ?? '',
    editions,
    wording: version in CONSENT_WORDINGS ? version : CURRENT_CONSENT_VERSION,
    bot: Boolean(field(body, 'website')),
  };
}

/**
 * `POST /subscribe` (urlencoded, multipart or JSON): a pending subscriber and a confirmation email. The answer is the
 * same whether the address is new, pending, active or suppressed.
 */
export const subscribe: Handler = async (r, app) => {
  const limited = app.subscribeLimiter.hit(rateLimitKey(r.ip));
  if (!limited.allowed) {
    const seconds = Math.max(1, Math.ceil(limited.retryAfterMs / 1000));
    return errorReply(429, `Too many subscribe requests from your address. Try again in ${Math.ceil(seconds / 60)} minute(s).`, wantsJson(r.req), {
      'Retry-After': String(seconds),
    });
  }
  const body = await r.body();
  const asJson = wantsJson(r.req, body);
  const input = readRequest(body);
  const values = { email: input.email, name: input.name, editions: Array.isArray(input.editions) ? input.editions : [] };
  const invalid = (message: string) => (asJson ? errorReply(400, message, true) : page(400, 'Subscribe', form({ ...values, error: message }, app.config.tracking)));
  if (!isValidEmail(input.email)) {
    return invalid(input.email.trim() ? `"${input.email.trim()}" is not a valid email address.` : 'Enter your email address.');
  }
  if (input.editions === 'none') return invalid('Choose at least one edition.');
  if (!Array.isArray(input.editions)) return invalid(`Unknown edition "${input.editions.unknown}": choose midweek, sunday or both.`);
  if (!input.bot) {
    const outcome = await app.store.subscribe({
      email: input.email,
      name: input.name,
      editions: input.editions,
      ip: r.ip,
      wording: input.wording,
    });
    if (outcome.sendConfirmation && outcome.subscriber) app.background(sendConfirmation(app, outcome.subscriber));
  }
  const email = normaliseEmail(input.email);
  const message = 'Check your inbox: we sent a link to confirm your subscription. If you are already subscribed, nothing changes.';
  if (asJson) return json(200, { ok: true, message });
  return page(
    200,
    'Check your inbox',
    html`<h1>Check your inbox</h1>
<p>If <strong>${email}</strong> can receive our editions, a confirmation link is on its way. Open it to start your subscription; until then we send nothing else.</p>
<p class="fine">Already subscribed? Nothing changes. No email after a few minutes? Look in your spam folder, or <a href="/subscribe">try again</a>.</p>`,
  );
};
