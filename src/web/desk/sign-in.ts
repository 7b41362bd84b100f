import { randomBytes } from 'node:crypto';
import { recordDeskAudit } from '../../store/desk-audit.ts';
import { createSignInLink, endSession, SESSION_MAX_MS, SIGN_IN_LINK_TTL_MS, signInLinkUsable, spendSignInLink } from '../../store/desk-sessions.ts';
import { isValidEmail, normaliseEmail } from '../../subscribers/email.ts';
import type { App, Handler, RouteRequest } from '../app.ts';
import { html } from '../html.ts';
import { field, type Reply } from '../http.ts';
import { rateLimitKey } from '../rate-limit.ts';
import { signedIn } from './auth.ts';
import { cookieName, readCookie, setCookie } from './cookies.ts';
import { deskMessage, deskPage, seeOther } from './layout.ts';
import { sendSignInMail } from './sign-in-mail.ts';
import { deskState, type DeskState } from './state.ts';

/** The pre-session cookie lives this long: a sign-in form left open longer asks to be reloaded. */
const PRE_COOKIE_SECONDS = 24 * 3600;

/** The pre-session value this browser holds, or a new one to set (its CSRF token binds the sign-in forms to this browser). */
function preSession(r: RouteRequest, state: DeskState): { value: string; headers: Record<string, string> } {
  const held = readCookie(r.req, cookieName('pre', state.secure));
  if (held && /^[A-Za-z0-9_-]{32}$/.test(held)) return { value: held, headers: {} };
  const value = randomBytes(24).toString('base64url');
  return { value, headers: { 'Set-Cookie': setCookie('pre', value, PRE_COOKIE_SECONDS, state.secure) } };
}

/** The pre-session form was posted with its token (the same browser that was shown the form). */
async function preTokenOk(r: RouteRequest, state: DeskState): Promise<boolean> {
  return state.csrf.verify('pre', readCookie(r.req, cookieName('pre', state.secure)), field(await r.body(), 'csrf'));
}

const FORM_EXPIRED = html`The form had expired, so nothing was sent. <a href="/desk/sign-in">Open the sign-in page again</a>.`;

function requestForm(csrf: string, email = '', error?: string) {
  return html`<section class="panel"><h1>Sign in to the desk</h1>
<p>Enter your address. If it is on the desk’s list, we email you a link that signs you in; it works once, for ${SIGN_IN_LINK_TTL_MS / 60_000} minutes.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/desk/sign-in">
<input type="hidden" name="csrf" value="${csrf}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" required autocomplete="email" inputmode="email" value="${email}">
<button type="submit">Email me a sign-in link</button>
</form>
<p class="fine">The operator gives access with <code>almanac editors add</code>.</p></section>`;
}

/** `GET /desk/sign-in`: asks for an address. */
export const signInPage: Handler = async (r, app) => {
  const state = await deskState(app);
  const pre = preSession(r, state);
  return deskPage(200, 'Sign in', requestForm(state.csrf.token('pre', pre.value)), { headers: pre.headers });
};

/** 429 with Retry-After, or undefined when both the client and the address may ask again. */
function limited(state: DeskState, ip: string, email: string): Reply | undefined {
  for (const decision of [state.perClient.hit(rateLimitKey(ip)), state.perAddress.hit(`email ${email}`)]) {
    if (decision.allowed) continue;
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    return deskMessage(429, 'Too many sign-in requests', `Too many sign-in requests. Try again in ${Math.ceil(seconds / 60)} minute(s).`, {
      headers: { 'Retry-After': String(seconds) },
    });
  }
  return undefined;
}

/**
 * `POST /desk/sign-in`: the same answer whether or not the address is an editor's. The link is made and
 * mailed after the reply (so the time taken tells nothing either). Rate-limited per client and per address.
 */
export const requestSignIn: Handler = async (r, app) => {
  const state = await deskState(app);
  if (!(await preTokenOk(r, state))) return deskMessage(403, 'Form expired', FORM_EXPIRED);
  const given = field(await r.body(), 'email') ?? '';
  const pre = preSession(r, state);
  if (!isValidEmail(given)) {
    return deskPage(400, 'Sign in', requestForm(state.csrf.token('pre', pre.value), given, given.trim() ? `"${given.trim()}" is not a valid email address.` : 'Enter your email address.'));
  }
  const email = normaliseEmail(given);
  const refused = limited(state, r.ip, email);
  if (refused) return refused;
  const now = app.clock();
  app.background(
    createSignInLink(app.db, email, now).then((made) => made && sendSignInMail(app, made.editor, made.token)),
  );
  return deskMessage(
    200,
    'Check your inbox',
    html`If <strong>${email}</strong> may use the desk, a sign-in link is on its way. It works once, for ${SIGN_IN_LINK_TTL_MS / 60_000} minutes. Nothing arrived? Ask the operator whether your address is on the list.`,
  );
};

const LINK_UNUSABLE = html`This sign-in link cannot be used: it was used already, it expired (links work for ${SIGN_IN_LINK_TTL_MS / 60_000} minutes), or it is incomplete. <a href="/desk/sign-in">Ask for a new one</a>.`;

/** `GET /desk/sign-in/<token>`: a button that signs in. Spends nothing (mail scanners fetch every link). */
export const signInLinkPage: Handler = async (r, app) => {
  const state = await deskState(app);
  const token = r.params[0]!;
  if (!(await signInLinkUsable(app.db, token, app.clock()))) return deskMessage(400, 'Link not valid', LINK_UNUSABLE);
  const pre = preSession(r, state);
  const body = html`<section class="panel"><h1>Sign in to the desk</h1>
<p>Press the button to sign in on this device. The link then stops working.</p>
<form method="post" action="/desk/sign-in/${token}">
<input type="hidden" name="csrf" value="${state.csrf.token('pre', pre.value)}">
<button type="submit">Sign in</button>
</form></section>`;
  return deskPage(200, 'Sign in', body, { headers: pre.headers });
};

/** `POST /desk/sign-in/<token>`: spends the link (once, on any host) and opens a session: the cookie, then the overview. */
export const spendLink: Handler = async (r, app) => {
  const state = await deskState(app);
  if (!(await preTokenOk(r, state))) return deskMessage(403, 'Form expired', FORM_EXPIRED);
  const now = app.clock();
  const opened = await spendSignInLink(app.db, r.params[0]!, now);
  if (!opened) return deskMessage(400, 'Link not valid', LINK_UNUSABLE);
  await recordDeskAudit(app.db, { at: now.toISOString(), actor: opened.session.editor.email, action: 'sign-in', subject: opened.session.editor.email, detail: null });
  return seeOther('/desk', { 'Set-Cookie': setCookie('session', opened.sessionId, SESSION_MAX_MS / 1000, state.secure) });
};

/** `POST /desk/sign-out`: ends the session everywhere and clears the cookie. */
export const signOut: Handler = signedIn(async (_r, app: App, who) => {
  const state = await deskState(app);
  await endSession(app.db, who.sessionId);
  await recordDeskAudit(app.db, { at: app.clock().toISOString(), actor: who.editor.email, action: 'sign-out', subject: who.editor.email, detail: null });
  return deskMessage(200, 'Signed out', html`You are signed out. <a href="/desk/sign-in">Sign in again</a>.`, {
    headers: { 'Set-Cookie': setCookie('session', '', 0, state.secure) },
  });
});
