import type { IncomingMessage } from 'node:http';

// The desk's two cookies: the session, and a pre-session value that the sign-in forms' CSRF tokens are
// bound to (so nobody can sign a browser in to their own session from another site). HttpOnly,
// SameSite=Strict, Path=/; with an https ALMANAC_BASE_URL also Secure and `__Host-` (which the browser
// accepts only with Secure, Path=/ and no Domain: no subdomain can set or shadow them).

/** Which cookie. */
export type DeskCookie = 'session' | 'pre';

const BASE_NAMES: Record<DeskCookie, string> = { session: 'almanac-desk', pre: 'almanac-desk-pre' };

/** True when the desk is served over https (ALMANAC_BASE_URL), so its cookies are Secure and `__Host-`. */
export function isSecureBase(baseUrl: string): boolean {
  return /^https:\/\//i.test(baseUrl);
}

/** The cookie's name: `__Host-almanac-desk` over https, `almanac-desk` over plain http (local use). */
export function cookieName(which: DeskCookie, secure: boolean): string {
  return `${secure ? '__Host-' : ''}${BASE_NAMES[which]}`;
}

/** The request's value of a cookie, if it sent one. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value that sets (maxAgeSeconds > 0) or clears (0) a desk cookie. */
export function setCookie(which: DeskCookie, value: string, maxAgeSeconds: number, secure: boolean): string {
  const attributes = [`Max-Age=${Math.floor(maxAgeSeconds)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  return [`${cookieName(which, secure)}=${value}`, ...attributes].join('; ');
}
