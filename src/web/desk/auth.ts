import { sessionOf } from '../../store/desk-sessions.ts';
import type { App, Handler, RouteRequest } from '../app.ts';
import { html } from '../html.ts';
import { field, type Reply } from '../http.ts';
import { cookieName, readCookie, setCookie } from './cookies.ts';
import { deskMessage, seeOther } from './layout.ts';
import { deskState } from './state.ts';
import type { Who } from './who.ts';

/** A desk page's handler: the request, the app, and who is signed in. */
export type DeskHandler = (r: RouteRequest, app: App, who: Who) => Promise<Reply> | Reply;

/** Who may use a page: every editor, or admins only. */
export type Access = 'editor' | 'admin';

/**
 * Guards a desk handler. Without an open session (none, ended, idle too long, or its editor removed) a
 * GET goes to the sign-in page and a POST is refused. Every POST must carry the session's CSRF token.
 * An admin page refuses editors (403). Order: session, then CSRF, then role, so a refusal never tells
 * an outsider more than "sign in".
 */
export function signedIn(handler: DeskHandler, access: Access = 'editor'): Handler {
  return async (r, app) => {
    const state = await deskState(app);
    const name = cookieName('session', state.secure);
    const sessionId = readCookie(r.req, name);
    const session = sessionId ? await sessionOf(app.db, sessionId, app.clock()) : undefined;
    if (!session || !sessionId) {
      // A cookie for a session that has ended is cleared, so the browser stops sending it.
      const clear: Record<string, string> = sessionId ? { 'Set-Cookie': setCookie('session', '', 0, state.secure) } : {};
      if (r.method === 'GET') return seeOther('/desk/sign-in', clear);
      return deskMessage(403, 'Not signed in', html`Nothing was changed. <a href="/desk/sign-in">Sign in</a> and try again.`, { headers: clear });
    }
    const who: Who = { editor: session.editor, csrf: state.csrf.token('session', sessionId), sessionId };
    if (r.method === 'POST' && !state.csrf.verify('session', sessionId, field(await r.body(), 'csrf'))) {
      return deskMessage(403, 'Form not accepted', 'The form did not carry its security token, so nothing was changed. Go back, reload the page and try again.', { who });
    }
    if (access === 'admin' && session.editor.role !== 'admin') {
      return deskMessage(403, 'For admins only', 'This page is for the desk’s admins. Ask an admin if you need something changed here.', { who });
    }
    return handler(r, app, who);
  };
}
