import { KIND_NAMES } from '../editions/calendar.ts';
import type { Kind } from '../config.ts';
import { html, type SafeHtml } from './html.ts';
import type { Reply } from './http.ts';
import { layout } from './layout.ts';

/** An HTML page reply in the shared layout. */
export function page(status: number, title: string, body: SafeHtml, headers?: Record<string, string>): Reply {
  return { status, type: 'html', body: layout(title, body).value, headers };
}

/** A JSON reply. */
export function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return { status, type: 'json', body: `${JSON.stringify(value)}\n`, headers };
}

/** An error as a page or as JSON `{ ok: false, error }`. */
export function errorReply(status: number, message: string, asJson: boolean, headers?: Record<string, string>): Reply {
  if (asJson) return json(status, { ok: false, error: message }, headers);
  const titles: Record<number, string> = {
    400: 'Bad request',
    404: 'Not found',
    405: 'Method not allowed',
    413: 'Too large',
    429: 'Too many requests',
    503: 'Unavailable',
  };
  const title = titles[status] ?? 'Error';
  return page(status, title, html`<h1>${title}</h1><p>${message}</p><p><a href="/">Back to the home page</a></p>`, headers);
}

/** The same answer for tampered, unknown, expired or erased links: nothing about any address. */
export function invalidLink(): Reply {
  return page(
    404,
    'Link not valid',
    html`<h1>This link is not valid</h1>
<p>It may be incomplete, expired, or no longer in use. Nothing was changed.</p>
<p>Copy the whole link from the email, or <a href="/subscribe">subscribe again</a>.</p>`,
  );
}

/** "Midweek and Sunday", "Sunday", or "no edition". */
export function editionNames(kinds: Kind[]): string {
  const names = kinds.map((k) => KIND_NAMES[k]);
  if (names.length === 0) return 'no edition';
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** `a***@example.com`: enough for a reader to recognise their address, not enough to learn someone else's. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
