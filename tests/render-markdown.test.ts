import { decodeHTML } from 'entities';
import { describe, expect, test } from 'vitest';
import { emailMarkdownStyles } from '../emails/theme.ts';
import { markdownToHtml, markdownToText, safeHref } from '../src/render/markdown.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';

describe('markdownToHtml', () => {
  test.each([
    ['raw script block', '<script>alert(1)</script>', /^$/],
    ['inline tags dropped, text kept', 'a <b onclick="x()">bold</b> word', /a bold word/],
    ['img onerror', '<img src=x onerror=alert(1)>', /^$/],
    ['javascript link becomes text', '[click](javascript:alert(1))', /^<p[^>]*>click<\/p>$/],
    ['vbscript link', '[v](vbscript:msgbox(1))', /^<p[^>]*>v<\/p>$/],
    ['relative link', '[rel](/path)', /^<p[^>]*>rel<\/p>$/],
    ['image becomes alt text', '![the alt](https://x.example/i.png)', /^<p[^>]*>the alt<\/p>$/],
    ['entities are decoded once and re-escaped', 'R&D &amp; more &lt;tag&gt;', /R&amp;D &amp; more &lt;tag&gt;/],
  ])('%s', (_name, markdown, expected) => {
    expect(markdownToHtml(markdown)).toMatch(expected);
  });

  test('http(s) and mailto links survive with escaped attributes and inline styles', () => {
    const html = markdownToHtml('[a](https://x.example/?a=1&b="2") and <mailto:ed@almanac.example>');
    expect(html).toContain('<a href="https://x.example/?a=1&amp;b=%222%22" style="color:');
    expect(html).toContain('href="mailto:ed@almanac.example"');
  });

  test('styles every element it emits and can render inline', () => {
    const html = markdownToHtml('## Heading\n\n- one\n- **two**\n\n`code`');
    expect(html).not.toMatch(/<(p|ul|li|code)>/);
    expect(html).toMatch(/<li style="[^"]*color:#/);
    expect(markdownToHtml('just *this*', { inline: true })).toMatch(/^just <em style="[^"]+">this<\/em>$/);
  });

  test('email styles leave the type to the surrounding cell; the default styles carry it for web pages', () => {
    const markdown = 'Some **bold** and a [link](https://x.example).\n\n- item';
    expect(markdownToHtml(markdown, { styles: emailMarkdownStyles })).toBe(
      '<p style="margin:0 0 12px">Some <strong>bold</strong> and a <a href="https://x.example/" style="color:#0b4f8a;text-decoration:underline" target="_blank">link</a>.</p>' +
        '<ul style="margin:0 0 12px;padding:0 0 0 22px"><li style="margin:0 0 6px">item</li></ul>',
    );
    expect(markdownToHtml(markdown)).toMatch(/^<p style="margin:0 0 12px;font-family:[^"]+;font-size:16px;line-height:1\.6;color:#1d1f23">/);
  });
});

describe('markdownToText', () => {
  test('keeps link targets visible and drops markup', () => {
    const text = markdownToText('Read [the post](https://x.example/p) now.\n\n- one\n- two <b>bold</b>\n\n<script>alert(1)</script>');
    expect(text).toBe('Read the post (https://x.example/p) now.\n\n- one\n- two bold');
  });

  test('unsafe links lose their target', () => {
    expect(markdownToText('[x](javascript:alert(1))')).toBe('x');
  });
});

test('safeHref allows only absolute http(s) and mailto', () => {
  expect(safeHref('https://a.example/x')).toBe('https://a.example/x');
  expect(safeHref('mailto:a@b.example')).toBe('mailto:a@b.example');
  for (const bad of ['javascript:alert(1)', ' JAVASCRIPT:alert(1)', 'data:text/html,x', '/relative', '//proto.example', 'ftp://x.example']) {
    expect(safeHref(bad)).toBeUndefined();
  }
});

describe('HTML entities in Markdown', () => {
  test.each([
    ['a named entity outside the old short list', 'r&eacute;gulation', 'régulation'],
    ['every HTML5 name', '&notin; &Uuml;ber &frac12; &rarr;', '∉ Über ½ →'],
    ['numeric references', '&#8217; &#x27; &#X201C;', '’ \' “'],
    ['decoded once only', '&amp;eacute;', '&eacute;'],
    ['a bare ampersand and an unterminated name stay as written', 'R&D &eacute', 'R&D &eacute'],
  ])('%s', (_name, markdown, text) => {
    expect(markdownToText(markdown)).toBe(text);
    // What a browser shows: the HTML decoded once.
    expect(decodeHTML(markdownToHtml(markdown, { inline: true }))).toBe(text);
  });

  test('decoding never lets markup through: an encoded tag is shown as text in HTML', () => {
    const markdown = 'See &lt;script&gt;alert(1)&lt;/script&gt; and &lt;a href="javascript:x"&gt;this&lt;/a&gt;.';
    const html = markdownToHtml(markdown);
    expect(html).not.toMatch(/<script|<a /);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(markdownToText(markdown)).toBe('See <script>alert(1)</script> and <a href="javascript:x">this</a>.');
  });

  test('entities in link targets are decoded once, and an encoded javascript: scheme stays unlinked', () => {
    expect(markdownToHtml('[a](https://x.example/?a=1&amp;b=2)')).toContain('href="https://x.example/?a=1&amp;b=2"');
    expect(markdownToText('[a](https://x.example/?a=1&amp;b=2)')).toBe('a (https://x.example/?a=1&b=2)');
    expect(markdownToHtml('[a](&#106;avascript:alert(1))')).not.toContain('href');
  });

  test('raw HTML is read with a parser: its visible text stays, title and script bodies go', () => {
    const markdown = '<div><title>Page title</title>Visible &eacute;t&eacute;<script>alert(1)</script></div>';
    expect(markdownToText(markdown)).toBe('Visible été');
    expect(markdownToHtml(markdown)).toMatch(/>Visible été<\/p>$/);
  });

  test('an edition with entities in a summary shows the characters in both parts', async () => {
    const news = fullNews();
    news[0]!.summary = 'La r&eacute;gulation europ&eacute;enne &mdash; enfin.';
    const { edition } = await fixtureEdition('midweek', news, fullGuides());
    const rendered = await renderEdition(edition, SITE);
    expect(rendered.html).toContain('La régulation européenne — enfin.');
    expect(rendered.text).toContain('La régulation européenne — enfin.');
    expect(rendered.html + rendered.text).not.toContain('eacute');
  });
});
