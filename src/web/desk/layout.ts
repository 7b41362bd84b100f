import { SECURITY_HEADERS, type Reply } from '../http.ts';
import { html, raw, type SafeHtml } from '../html.ts';
import { SITE_CSS } from '../layout.ts';
import type { Who } from './who.ts';

const DESK_CSS = `
header .who{color:#c9d2dc;font-size:14px;margin-left:14px}
header nav form{display:inline;margin:0}
header nav button{font:inherit;font-size:15px;font-weight:400;background:none;color:#c9d2dc;border:0;padding:0 0 0 14px;min-height:28px;text-decoration:underline;cursor:pointer}
@media (max-width:40rem){header nav{float:none;display:flex;flex-wrap:wrap;gap:0 14px}header nav a,header nav button,header .who{margin-left:0;padding-left:0}}
main.desk{max-width:72rem;margin:20px auto;padding:0 20px;background:none}
@media (max-width:40rem){main.desk{padding:0;margin:0}main.desk>h1,main.desk>p{padding:0 16px}main.desk>h1{padding-top:16px}}
.desk-grid{display:grid;gap:20px;grid-template-columns:minmax(0,1fr)}
@media (min-width:960px){.desk-grid{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}.desk-grid .full{grid-column:1/-1}}
.panel h2{font-size:1.3rem}
.state{display:inline-block;padding:1px 9px;border-radius:999px;background:#ece5d6;color:#3b3a36;font-size:14px;font-weight:600}
.state.sent{background:#dcefe4;color:#174a33}.state.failed,.state.bounced,.state.complained{background:#fbeaea;color:#6b1111}
.lifecycle{border:2px dashed #8a8f96;border-radius:4px;padding:8px 12px;color:#3b3a36;font-size:15px}
.scroll{max-width:100%;overflow-x:auto}
.scroll table{display:table}
.scroll:focus-visible{outline:3px solid #0b4f8a;outline-offset:2px}
table.data{border-collapse:collapse;font-size:15px;margin:0 0 1em}
table.data th,table.data td{border:1px solid #e2dccf;padding:6px 8px;text-align:left;vertical-align:top}
table.data td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.data th{white-space:nowrap}
table.data td:first-child{min-width:10rem}
table.data a{overflow-wrap:normal}
.frames{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}
.frames figure{margin:0;max-width:100%}
.frames figcaption{font-weight:600;margin:0 0 6px}
.frame-box{max-width:100%;overflow-x:auto}
.frame-box iframe{display:block;border:1px solid #8a8f96;background:#fff;height:900px}
svg{max-width:100%;height:auto}
ul.checks{padding-left:1.2em}
`;

/** The CSP of desk pages: the site's, plus frames from this origin (the edition page's sandboxed copies). */
const DESK_CSP = `${SECURITY_HEADERS['Content-Security-Policy']!.replace("frame-ancestors 'none'", "frame-src 'self'; frame-ancestors 'none'")}`;

function nav(who: Who | undefined): SafeHtml {
  if (!who) return html`<nav aria-label="Desk"><a href="/">Public site</a></nav>`;
  const admin = who.editor.role === 'admin';
  return html`<nav aria-label="Desk"><a href="/desk">Overview</a><a href="/desk/subscribers">Subscribers</a>${admin ? html`<a href="/desk/editors">Editors</a>` : ''}<span class="who">${who.editor.name ?? who.editor.email} (${who.editor.role})</span><form method="post" action="/desk/sign-out"><input type="hidden" name="csrf" value="${who.csrf}"><button type="submit">Sign out</button></form></nav>`;
}

/** A desk page: the site's look, the desk's navigation, never cached or indexed. */
export function deskPage(status: number, title: string, body: SafeHtml, opts: { who?: Who; headers?: Record<string, string> } = {}): Reply {
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · Almanac desk</title>
<link rel="icon" href="data:,">
<style>${raw(SITE_CSS)}${raw(DESK_CSS)}</style>
</head>
<body>
<header><a href="/desk">Almanac desk</a>${nav(opts.who)}</header>
<main class="desk">
${body}
</main>
</body>
</html>
`;
  return { status, type: 'html', body: page.value, headers: { 'Content-Security-Policy': DESK_CSP, 'X-Robots-Tag': 'noindex', ...opts.headers } };
}

/** A short desk page with a heading and a paragraph (refusals, confirmations). */
export function deskMessage(status: number, title: string, message: SafeHtml | string, opts: { who?: Who; headers?: Record<string, string> } = {}): Reply {
  return deskPage(status, title, html`<section class="panel"><h1>${title}</h1><p>${message}</p></section>`, opts);
}

/** A 303 redirect to a desk URL (after a POST, or to the sign-in page). */
export function seeOther(location: string, headers: Record<string, string> = {}): Reply {
  return { status: 303, type: 'html', body: html`<p><a href="${location}">Continue</a></p>`.value, headers: { Location: location, ...headers } };
}
