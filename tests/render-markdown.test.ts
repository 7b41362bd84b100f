import { describe, expect, test } from 'vitest';
import { emailMarkdownStyles } from '../emails/theme.ts';
import { markdownToHtml, markdownToText, safeHref } from '../src/render/markdown.ts';

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
