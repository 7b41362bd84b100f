import { KINDS } from '../config.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import { NEWSLETTER_NAME } from '../editions/compose.ts';
import { CURRENT_CONSENT_VERSION, currentConsentWording } from '../subscribers/consent.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * The "Stay current" box: a short pitch and a one-line subscribe form posting to `/subscribe` (both editions ticked,
 * the consent wording it records, the honeypot). `id` keeps its element ids unique on the page.
 */
export function subscribeBox(id: string, pitch: string): SafeHtml {
  return html`<section class="stay" aria-labelledby="${id}-h">
<h2 id="${id}-h">Stay current</h2>
<p>${pitch}</p>
<form method="post" action="/subscribe">
<label for="${id}-email">Email address</label>
<div class="row"><input id="${id}-email" name="email" type="email" required autocomplete="email" inputmode="email" placeholder="you@example.com"><button type="submit">Subscribe</button></div>
<fieldset class="kinds"><legend class="fine">Editions</legend>
${KINDS.map((k) => html`<label><input type="checkbox" name="editions" value="${k}" checked> ${KIND_NAMES[k]}</label>`)}
</fieldset>
<input type="hidden" name="editions_shown" value="1">
<input type="hidden" name="consent_version" value="${CURRENT_CONSENT_VERSION}">
<div style="position:absolute;left:-10000px" aria-hidden="true"><label for="${id}-website">Leave this empty</label><input id="${id}-website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<p class="fine">${currentConsentWording()}</p>
</form>
</section>`;
}

/** The pitch under "Stay current" on a guide page. */
export const GUIDE_PITCH = `${NEWSLETTER_NAME} pairs the week\u2019s AI news with guides like this one \u2014 Midweek & Sunday.`;
