import { describe, expect, test } from 'vitest';
import { archiveCopy, personalise, renderConfirmation, renderEdition } from '../src/render/render-edition.ts';
import { HTML_MAX_BYTES, preSendChecks } from '../src/render/checks.ts';
import { SLOTS } from '../src/render/slots.ts';
import { scanHtml } from '../src/render/html-scan.ts';
import { fixtureEdition, fullGuides, fullNews, hostileNews, SITE } from './render-fixtures.ts';

const LINKS = {
  unsubscribeUrl: 'https://almanac.example/unsubscribe/tok-u?k=1&z=2',
  preferencesUrl: 'https://almanac.example/preferences/tok-p',
};

/** Text content of an HTML string, entities decoded, for "appears in the HTML" checks. */
function visibleText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('renderEdition', () => {
  test('every selected headline and every featured guide’s TL;DR and takeaways appear in both parts', async () => {
    const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
    expect(edition.news).toHaveLength(12);
    expect(edition.guides).toHaveLength(3);
    const rendered = await renderEdition(edition, SITE);
    const copy = personalise(rendered, LINKS);
    const html = visibleText(copy.html);
    for (const item of edition.news) {
      expect(html).toContain(item.title);
      expect(copy.text).toContain(item.title);
      expect(copy.html).toContain(`href="${item.url}"`);
      expect(copy.text).toContain(item.url);
      expect(html).toContain(`Importance ${item.score}/10`);
    }
    for (const { guide, related } of edition.guides) {
      for (const part of [html, copy.text]) {
        expect(part).toContain(guide.title);
        expect(part).toContain(guide.tldr);
        for (const takeaway of guide.takeaways) expect(part).toContain(takeaway);
        expect(part).toContain(`Recent developments of guide ${guide.slug.slice(-1)}, with a source`);
        expect(part).toContain(`More on ${guide.title}`);
      }
      expect(related.length).toBeGreaterThan(0);
      expect(copy.text).toContain(`https://almanac.example/guides/${guide.slug}`);
    }
    // The identity of the edition and the footer.
    expect(html).toContain('Sunday · No. 48 · 29 November 2026');
    expect(copy.text).toContain('Sunday · No. 48 · 29 November 2026');
    for (const part of [copy.html, copy.text]) {
      expect(part).toContain('https://almanac.example/archive/2026-11-29-sunday');
      expect(part).toContain(SITE.postalAddress);
      expect(part).toContain('https://almanac.example/preferences/tok-p');
    }
    expect(copy.html).toContain('href="https://almanac.example/unsubscribe/tok-u?k=1&amp;z=2"');
    expect(copy.text).toContain('https://almanac.example/unsubscribe/tok-u?k=1&z=2');
    expect(html).toContain('You get the Sunday edition');
    expect(preSendChecks(rendered)).toEqual([]);
  });

  test('the Midweek edition shows its own identity', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const rendered = await renderEdition(edition, SITE);
    expect(visibleText(rendered.html)).toContain('Midweek · No. 47 · Wednesday 25 November 2026');
    expect(rendered.text).toContain('You get the Midweek edition');
    expect(preSendChecks(rendered)).toEqual([]);
  });

  test('hostile content stays inert: titles are text, raw HTML and script links are dropped', async () => {
    const { edition } = await fixtureEdition('sunday', [...hostileNews(), ...fullNews().slice(0, 3)], fullGuides());
    const rendered = await renderEdition(edition, SITE);
    const { html, text } = personalise(rendered, LINKS);
    expect(html).toContain('Injected &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).toContain('Injected <script>alert(1)</script>');
    const elements = scanHtml(html).elements;
    expect(elements.map((e) => e.name).filter((n) => ['script', 'iframe', 'svg', 'img', 'style', 'b'].includes(n))).toEqual([]);
    expect(elements.flatMap((e) => Object.keys(e.attrs)).filter((a) => a.startsWith('on'))).toEqual([]);
    expect(elements.flatMap((e) => Object.values(e.attrs)).filter((v) => /^\s*(javascript|data|vbscript):/i.test(v))).toEqual([]);
    expect(html).not.toMatch(/<script|<svg|<img|javascript:|evil\.example/i);
    expect(html).toContain('Click here or there or data.');
    expect(html).toContain('raw link text');
    expect(html).toContain('tracking pixel and </p>');
    expect(text).not.toMatch(/javascript:/i);
    expect(preSendChecks(rendered)).toEqual([]);
  });

  test('slots are filled in both parts and none is left', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const rendered = await renderEdition(edition, SITE);
    // trackingReader is only in an edition rewritten for personal tracking (tests/tracking.test.ts).
    for (const marker of Object.values(SLOTS).filter((m) => m !== SLOTS.trackingReader)) {
      expect(rendered.html).toContain(marker);
      expect(rendered.text).toContain(marker);
    }
    const copy = personalise(rendered, LINKS);
    expect(copy.html).not.toContain('%%');
    expect(copy.text).not.toContain('%%');
    const archive = archiveCopy(rendered, SITE.baseUrl);
    expect(archive.html).toContain('href="https://almanac.example/subscribe"');
    expect(archive.text).not.toContain('%%');
  });

  test('an unfilled slot throws instead of sending a copy with a hole', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const rendered = await renderEdition(edition, SITE);
    expect(() => personalise(rendered, { ...LINKS, unsubscribeUrl: '' })).toThrow(/unsubscribeUrl left unfilled/);
    expect(() => personalise(rendered, { unsubscribeUrl: LINKS.unsubscribeUrl } as never)).toThrow(/preferencesUrl left unfilled/);
    const withUnknown = { ...rendered, html: `${rendered.html}%%ALMANAC_OTHER%%` };
    expect(() => personalise(withUnknown, LINKS)).toThrow(/%%ALMANAC_OTHER%% left unfilled/);
  });

  test('content that contains a slot marker is refused at render time', async () => {
    const news = fullNews();
    news[0]!.summary = 'Sneaky %%ALMANAC_UNSUBSCRIBE_URL%% marker';
    const { edition } = await fixtureEdition('sunday', news, fullGuides());
    await expect(renderEdition(edition, SITE)).rejects.toThrow(/story-01\.md contains the reserved marker/);
  });

  test('a full Sunday edition stays compact: type is set once per cell, not on every paragraph', async () => {
    // Each byte is sent once per subscriber; this edition was 45 KB when every paragraph and link carried its own type.
    const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
    const rendered = await renderEdition(edition, SITE);
    expect(Buffer.byteLength(rendered.html)).toBeLessThan(30_000);
    expect(rendered.html).not.toContain('<!-- -->');
    expect(rendered.html).not.toMatch(/margin-(top|right|bottom|left):/);
  });

  test('an empty edition renders and says so', async () => {
    const { edition } = await fixtureEdition('sunday', [], fullGuides());
    expect(edition.empty).toBe(true);
    const rendered = await renderEdition(edition, SITE);
    expect(rendered.text).toContain('No news was published');
    expect(visibleText(rendered.html)).toContain('No news was published');
  });
});

describe('preSendChecks', () => {
  test('the size check fails on an oversized edition', async () => {
    const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
    const huge = { ...edition, news: edition.news.map((n) => ({ ...n, summary: `${'A long sentence of filler words. '.repeat(300)}` })) };
    const rendered = await renderEdition(huge, SITE);
    expect(Buffer.byteLength(rendered.html)).toBeGreaterThan(HTML_MAX_BYTES);
    const problems = preSendChecks(rendered);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/HTML part is \d+ bytes once personalised; it must stay under 100000/);
  });

  test('reports each broken email-client constraint on its own line', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const rendered = await renderEdition(edition, SITE);
    const broken = {
      ...rendered,
      preheader: 'x'.repeat(151),
      html: rendered.html
        .replace('<html dir="ltr" lang="en">', '<html dir="ltr">')
        .replace('max-width:600px', 'max-width:800px')
        .replace('</body>', '<script>1</script><img src="https://i.example/a.png"><a href="/relative">r</a><a href="javascript:x()">j</a><p style="color:#777777">low</p><div style="width:700px" onclick="x()">w</div><link rel="stylesheet" href="https://x.example/a.css"></body>'),
    };
    const problems = preSendChecks(broken).join('\n');
    expect(problems).toMatch(/no lang attribute/);
    expect(problems).toMatch(/preheader is 151 characters/);
    expect(problems).toMatch(/container max-width is 800px/);
    expect(problems).toMatch(/<script> is not allowed/);
    expect(problems).toMatch(/<img>.* has no alt text/);
    expect(problems).toMatch(/link "\/relative" not an absolute/);
    expect(problems).toMatch(/script URL in href/);
    expect(problems).toMatch(/contrast .* \(#777777 on #efe9dd\)/);
    expect(problems).toMatch(/700px wide/);
    expect(problems).toMatch(/event handler attribute onclick/);
    expect(problems).toMatch(/external stylesheet/);
  });
});

describe('renderConfirmation', () => {
  test('renders the double opt-in email with the confirm link in both parts', async () => {
    const out = await renderConfirmation({
      name: 'Ada <b>',
      confirmUrl: 'https://almanac.example/confirm/abc?x=1&y=2',
      editions: ['midweek', 'sunday'],
      baseUrl: SITE.baseUrl,
      postalAddress: SITE.postalAddress,
    });
    expect(out.subject).toBe('Confirm your subscription to Call Me Almanac');
    expect(out.html).toContain('href="https://almanac.example/confirm/abc?x=1&amp;y=2"');
    expect(out.html).toContain('Hi Ada &lt;b&gt;,');
    expect(out.html).toContain('lang="en"');
    expect(out.text).toContain('https://almanac.example/confirm/abc?x=1&y=2');
    expect(out.text).toContain('the Midweek edition and the Sunday edition');
    expect(out.text).toContain(SITE.postalAddress);
  });
});

describe('Outlook container', () => {
  const MSO_OPEN = '<!--[if mso]><table role="presentation" align="center" width="600" border="0" cellpadding="0" cellspacing="0"><tr><td><![endif]-->';
  const MSO_CLOSE = '<!--[if mso]></td></tr></table><![endif]-->';

  /** The HTML between the Outlook-only open and close, which must be exactly the 600 px container. */
  function wrapped(html: string): string {
    expect(html.split(MSO_OPEN)).toHaveLength(2);
    expect(html.split(MSO_CLOSE)).toHaveLength(2);
    const inside = html.slice(html.indexOf(MSO_OPEN) + MSO_OPEN.length, html.indexOf(MSO_CLOSE));
    expect(inside).toMatch(/^<table[^>]*max-width:600px/);
    expect(inside.endsWith('</table>')).toBe(true);
    // Balanced: the whole container, not part of it.
    expect(inside.match(/<table[\s>]/g)!.length).toBe(inside.match(/<\/table>/g)!.length);
    expect(html.slice(html.indexOf(MSO_CLOSE) + MSO_CLOSE.length)).not.toMatch(/<table|<p[\s>]|<a[\s>]/);
    return inside;
  }

  test.each(['sunday', 'midweek'] as const)('the %s edition is held at 600 px for Outlook by a ghost table around the whole container', async (kind) => {
    const { edition } = await fixtureEdition(kind, fullNews(), fullGuides());
    const { html } = personalise(await renderEdition(edition, SITE), { unsubscribeUrl: 'https://almanac.example/u/x', preferencesUrl: 'https://almanac.example/p/x' });
    expect(wrapped(html)).toContain('https://almanac.example/u/x'); // the footer is inside
  });

  test('so is the confirmation email', async () => {
    const out = await renderConfirmation({ name: null, confirmUrl: 'https://almanac.example/confirm/abc', editions: ['sunday'], baseUrl: SITE.baseUrl, postalAddress: SITE.postalAddress });
    expect(wrapped(out.html)).toContain('https://almanac.example/confirm/abc');
  });
});
