import { NEWSLETTER_NAME } from '../editions/compose.ts';
import { html, raw, type SafeHtml } from './html.ts';

/** The site's stylesheet, inlined in every page (the desk adds its own rules after it). */
export const SITE_CSS = `
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
main.wide{max-width:72rem;padding:0 20px;background:none;border-radius:0}
.panel{background:#fffdf8;border-radius:6px;padding:24px 20px;min-width:0}
.guide-grid,.home-grid{display:grid;gap:20px;grid-template-columns:minmax(0,1fr)}
@media (min-width:960px){
.guide-grid{grid-template-columns:minmax(0,1fr) 20rem;grid-template-areas:"article side" "more side";align-items:start}
.guide-grid>.guide{grid-area:article;padding:32px 44px}
.guide-grid>.side{grid-area:side}
.guide-grid>.more{grid-area:more;padding:28px 44px}
.home-grid{grid-template-columns:minmax(0,1fr) minmax(0,1fr);align-items:start}
.hero{display:grid;grid-template-columns:minmax(0,1fr) 22rem;gap:40px;align-items:center;padding:40px 44px}
}
@media (max-width:40rem){main.wide{padding:0}.panel,.stay{border-radius:0}.guide-grid,.home-grid{gap:12px}}
.home-grid{margin-top:20px}
.kicker{text-transform:uppercase;letter-spacing:.08em;font-size:13px;font-weight:700;color:#8a4b08;margin:0 0 8px}
.kicker.small{font-size:11px;margin:0 0 2px}
.chips{display:flex;flex-wrap:wrap;gap:6px;list-style:none;padding:0;margin:0 0 18px}
.chip{display:inline-block;padding:3px 11px;border-radius:999px;background:#ece5d6;color:#3b3a36;font-size:14px;line-height:1.4;text-decoration:none}
a.chip{color:#0b4f8a;background:#e7eef5}
a.chip:hover{text-decoration:underline}
.chip.dark{background:#1c2733;color:#f7f1e3;font-weight:600}
.tldr{background:#f5efe2;border-left:4px solid #e0a458;padding:14px 16px;margin:0 0 1.4em}
.guide h2{font-size:1.4rem;margin:1.4em 0 .5em}
.guide h3{font-size:1.15rem;margin:1.2em 0 .4em}
.guide .body>h2:first-child{margin-top:1em}
.related-topics{border-top:1px solid #e2dccf;margin-top:2em;padding-top:.6em}
.side{display:grid;gap:20px;min-width:0}
.stay{background:#1c2733;color:#f7f1e3;border-radius:6px;padding:22px 20px;border-top:4px solid #e0a458}
.stay h2{font-size:1.35rem;margin:0 0 .4em}
.stay label{font-weight:600;font-size:15px}
.stay .row{display:flex;flex-wrap:wrap;gap:8px}
.stay .row input{flex:1 1 11rem;min-width:0;margin:0}
.stay button{background:#e0a458;color:#1c2733;flex:none}
.stay .kinds{border:0;margin:10px 0 6px;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px}
.stay .kinds legend{padding:0;margin:0 0 2px;float:left;width:100%;color:#c9d2dc}
.stay .kinds label{display:flex;gap:8px;align-items:center;font-weight:400;min-height:32px;margin:0}
.stay .kinds input{width:20px;height:20px;margin:0}
.stay .fine{color:#c9d2dc;font-size:12.5px;line-height:1.45;margin:6px 0 0}
.guide-list{list-style:none;padding:0;margin:0}
.guide-list li{padding:12px 0;border-top:1px solid #e2dccf}
.guide-list li:first-child{border-top:0;padding-top:0}
.guide-list .title{font:700 17px/1.3 Georgia,"Times New Roman",serif;color:#1d1f23;text-decoration:none}
.guide-list .title:hover{text-decoration:underline}
.guide-list p{margin:4px 0 0}
.more h2,.related-guides h2,.home-grid h2{font-size:1.3rem}
.card{border-top:1px solid #e2dccf;padding:16px 0 4px}
.card h3{font-size:1.1rem;margin:0 0 .4em}
.card h3 a{color:#1d1f23;text-decoration:none}
.card h3 a:hover{text-decoration:underline}
.card-meta{display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px;font-size:14px;color:#55595f;margin:0 0 8px}
.card-meta .source{font-weight:600;color:#3b3a36}
.score{display:inline-block;min-width:26px;height:26px;line-height:26px;padding:0 4px;border-radius:13px;text-align:center;font-weight:700;font-size:13px;background:#ece5d6;color:#3b3a36}
.score.high{background:#8a4b08;color:#fff}
.summary{font-size:15.5px}
.summary p{margin:0 0 .8em}
.hero h1{font-size:2.1rem}
.hero .lead{font-size:1.1rem}
.hero ul{padding-left:1.2em;margin:0 0 1em}
`;

/** The shared page: inline CSS, viewport meta, no scripts. */
export function layout(title: string, body: SafeHtml, opts: { footer?: string; wide?: boolean } = {}): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${NEWSLETTER_NAME}</title>
<link rel="icon" href="data:,">
<link rel="alternate" type="application/rss+xml" title="${NEWSLETTER_NAME}" href="/feed.xml">
<style>${raw(SITE_CSS)}</style>
</head>
<body>
<header><a href="/">${NEWSLETTER_NAME}</a><nav><a href="/archive">Archive</a><a href="/subscribe">Subscribe</a></nav></header>
<main${opts.wide ? html` class="wide"` : ''}>
${body}
</main>
<footer>${opts.footer ?? ''}</footer>
</body>
</html>
`;
}
