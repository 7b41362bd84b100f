import { NEWSLETTER_NAME } from '../editions/compose.ts';
import { html, raw, type SafeHtml } from './html.ts';

const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#efe9dd;color:#1d1f23;font:17px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header{background:#1c2733;color:#f7f1e3;padding:14px 20px;border-bottom:4px solid #e0a458}
header a{color:#f7f1e3;text-decoration:none;font:700 20px/1.2 Georgia,"Times New Roman",serif}
header nav{float:right;font-size:15px;line-height:28px}
header nav a{font:inherit;color:#c9d2dc;margin-left:14px}
main{max-width:40rem;margin:24px auto;padding:24px 20px;background:#fffdf8;border-radius:6px}
@media (max-width:40rem){main{margin:0;border-radius:0}}
h1,h2,h3{font-family:Georgia,"Times New Roman",serif;line-height:1.25;margin:0 0 .6em}
h1{font-size:1.75rem}
a{color:#0b4f8a}
p{margin:0 0 1em}
label{display:block;font-weight:600;margin:0 0 4px}
input[type=email],input[type=text]{width:100%;font:inherit;padding:10px 12px;border:1px solid #8a8f96;border-radius:4px;background:#fff;margin:0 0 16px}
fieldset{border:1px solid #e2dccf;border-radius:4px;margin:0 0 16px;padding:10px 14px}
legend{font-weight:600;padding:0 4px}
.check{display:flex;gap:10px;align-items:flex-start;font-weight:400;margin:6px 0;min-height:32px}
.check input{width:20px;height:20px;margin:3px 0 0;flex:none}
button{font:inherit;font-weight:600;line-height:1.2;padding:12px 20px;min-height:44px;border:0;border-radius:4px;background:#1c2733;color:#fff;cursor:pointer}
button.secondary{background:#fffdf8;color:#1c2733;border:2px solid #1c2733}
form.inline{display:inline-block;margin:0 8px 12px 0}
.fine{font-size:14px;color:#55595f}
.notice{background:#f5efe2;border-left:4px solid #1f6b4f;padding:10px 14px;margin:0 0 1em}
.error{background:#fbeaea;border-left:4px solid #a61b1b;padding:10px 14px;margin:0 0 1em;color:#6b1111}
ul.editions{list-style:none;padding:0;margin:0}
ul.editions li{padding:10px 0;border-bottom:1px solid #e2dccf}
.meta{color:#55595f;font-size:15px}
main table{display:block;max-width:100%;overflow-x:auto;border-collapse:collapse;font-size:15px}
main th,main td{border:1px solid #e2dccf;padding:6px 8px;text-align:left;vertical-align:top}
main pre{max-width:100%;overflow-x:auto}
main img{max-width:100%;height:auto}
main a{overflow-wrap:anywhere}
footer{max-width:40rem;margin:0 auto 24px;padding:0 20px;font-size:14px;color:#4a4d52}
`;

/** The shared page: inline CSS, viewport meta, no scripts. */
export function layout(title: string, body: SafeHtml, opts: { footer?: string } = {}): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${NEWSLETTER_NAME}</title>
<link rel="icon" href="data:,">
<link rel="alternate" type="application/rss+xml" title="${NEWSLETTER_NAME}" href="/feed.xml">
<style>${raw(CSS)}</style>
</head>
<body>
<header><a href="/">${NEWSLETTER_NAME}</a><nav><a href="/archive">Archive</a><a href="/subscribe">Subscribe</a></nav></header>
<main>
${body}
</main>
<footer>${opts.footer ?? ''}</footer>
</body>
</html>
`;
}
