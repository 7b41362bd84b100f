import { describe, expect, test } from 'vitest';
import { preSendChecks } from '../src/render/checks.ts';
import { scanHtml } from '../src/render/html-scan.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import type { RenderedEdition } from '../src/render/types.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';

async function cleanEdition(): Promise<RenderedEdition> {
  const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
  return renderEdition(edition, SITE);
}

/** The edition with `markup` added at the end of its body. */
function withMarkup(rendered: RenderedEdition, markup: string): RenderedEdition {
  return { ...rendered, html: rendered.html.replace('</body>', `${markup}</body>`) };
}

describe('the pre-send checks read HTML as a browser does', () => {
  test('a clean edition passes', async () => {
    expect(preSendChecks(await cleanEdition())).toEqual([]);
  });

  test.each([
    ['a repeated href: browsers follow the first', '<a href="javascript:alert(1)" href="https://ok.example/">x</a>', /script URL in href/],
    ['an unquoted value after a lone quote', `<span title=it's></span><a href=javascript:alert(1)>x</a><span title='></span>`, /link "javascript:alert\(1\)" not an absolute/],
    ['an empty comment <!--> does not hide what follows', '<!--><a href="javascript:alert(1)">x</a><!-- -->', /script URL in href/],
    ['<!---> neither', '<!---><script>alert(1)</script><!-- -->', /<script> is not allowed/],
    ['<title> text is text: a comment opener inside it hides nothing', '<title><!--</title><script>alert(1)</script><title>--></title>', /<script> is not allowed/],
    ['an Outlook conditional comment is markup Outlook renders', '<!--[if mso]><a href="javascript:alert(1)">x</a><img src="http://t.example/p.gif"><![endif]-->', /<a> \(javascript:alert\(1\)\) in an Outlook conditional comment has a script URL in href/],
    ['an image behind an empty comment', '<!--><img src="http://t.example/p.gif"><!-- -->', /loads src="http:\/\/t\.example\/p\.gif"; only absolute https/],
    ['an entity-encoded scheme', '<a href="&#106;avascript&colon;alert(1)">x</a>', /script URL in href/],
  ])('%s', async (_name, markup, expected) => {
    const problems = preSendChecks(withMarkup(await cleanEdition(), markup));
    expect(problems.join('\n')).toMatch(expected);
  });

  test('the scanner keeps the first of a repeated attribute and decodes entities', () => {
    const [a] = scanHtml('<a href="https://first.example/?a=1&amp;b=2" HREF="https://second.example/">x</a>').elements;
    expect(a?.attrs.href).toBe('https://first.example/?a=1&b=2');
    expect(a?.attrList).toEqual([
      ['href', 'https://first.example/?a=1&b=2'],
      ['href', 'https://second.example/'],
    ]);
  });
});
