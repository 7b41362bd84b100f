import { simpleParser, type AddressObject } from 'mailparser';
import { describe, expect, test } from 'vitest';
import { buildMessage, buildSimpleMessage, compileMessage, encodeQuotedPrintable, messageCommonFor, newMessageId } from '../src/delivery/mime.ts';
import { personalise, renderEdition } from '../src/render/render-edition.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';

const COMMON = {
  from: 'Call Me Almanac <newsletter@almanac.example>',
  replyTo: 'Editors <editors@almanac.example>',
  mailDomain: 'almanac.example',
  listId: { name: 'Midweek', domain: 'midweek.almanac.example' },
};

/** A link longer than a QP line, with `=` and `&` in it. */
const LINKS = {
  unsubscribeUrl: `https://almanac.example/unsubscribe/${'t'.repeat(120)}?a=1&b==2`,
  preferencesUrl: 'https://almanac.example/preferences/p-token',
};

function headerLines(raw: string): string[] {
  return raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
}

describe('prebuilt MIME', () => {
  test('parses with mailparser: all headers right, text part first, bodies equal the personalised copy', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const rendered = await renderEdition(edition, SITE);
    const template = compileMessage(rendered, COMMON);
    const messageId = newMessageId('almanac.example');
    const raw = buildMessage(template, { to: 'reader@example.com', links: LINKS, messageId, date: new Date('2026-11-25T07:00:00Z') });

    expect(raw).not.toMatch(/[^\r]\n/);
    for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    const body = raw.slice(raw.indexOf('\r\n\r\n'));
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);

    const headers = headerLines(raw);
    expect(headers).toContain('From: Call Me Almanac <newsletter@almanac.example>');
    expect(headers).toContain('Reply-To: Editors <editors@almanac.example>');
    expect(headers).toContain('To: reader@example.com');
    expect(headers).toContain(`Subject: ${edition.subject}`);
    expect(headers).toContain('Date: Wed, 25 Nov 2026 07:00:00 +0000');
    expect(headers).toContain(`Message-ID: ${messageId}`);
    expect(headers).toContain('MIME-Version: 1.0');
    expect(headers).toContain('List-Id: Midweek <midweek.almanac.example>');
    expect(headers).toContain(`List-Unsubscribe: <${LINKS.unsubscribeUrl}>`);
    expect(headers).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(headers.find((h) => h.startsWith('Content-Type:'))).toMatch(/^Content-Type: multipart\/alternative; boundary="=_almanac_[0-9a-f]+"$/);
    expect(raw.indexOf('Content-Type: text/plain; charset=utf-8')).toBeLessThan(raw.indexOf('Content-Type: text/html; charset=utf-8'));

    const parsed = await simpleParser(raw);
    const copy = personalise(rendered, LINKS);
    expect(parsed.subject).toBe(edition.subject);
    expect(parsed.messageId).toBe(messageId);
    expect((parsed.to as AddressObject).value[0]?.address).toBe('reader@example.com');
    expect(parsed.date?.toISOString()).toBe('2026-11-25T07:00:00.000Z');
    expect(parsed.text).toBe(copy.text);
    expect(parsed.html).toBe(copy.html);
    expect(parsed.html).toContain(`href="${LINKS.unsubscribeUrl.replace(/&/g, '&amp;')}"`);
  });

  test('test copies get a subject prefix; non-ASCII subjects and names are RFC 2047 encoded', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const rendered = await renderEdition({ ...edition, subject: 'Almanac Midweek: Zoë’s café — naïve résumé of a very long headline that needs folding' }, SITE);
    const template = compileMessage(rendered, { ...COMMON, from: 'Almanac Café <newsletter@almanac.example>' });
    const raw = buildMessage(template, { to: 'Zoë <zoe@example.com>', links: LINKS, messageId: '<x@almanac.example>', date: new Date(), subjectPrefix: '[TEST] ' });
    expect(raw.slice(0, raw.indexOf('\r\n\r\n'))).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    for (const line of headerLines(raw)) expect(line.length).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('[TEST] Almanac Midweek: Zoë’s café — naïve résumé of a very long headline that needs folding');
    expect(parsed.from?.value[0]).toEqual({ address: 'newsletter@almanac.example', name: 'Almanac Café' });
    expect((parsed.to as AddressObject).value[0]).toEqual({ address: 'zoe@example.com', name: 'Zoë' });
  });

  test('each copy carries its own links; a missing link throws', async () => {
    const { edition } = await fixtureEdition('midweek', fullNews(), fullGuides());
    const template = compileMessage(await renderEdition(edition, SITE), COMMON);
    const a = await simpleParser(buildMessage(template, { to: 'a@example.com', links: { unsubscribeUrl: 'https://u.example/a', preferencesUrl: 'https://p.example/a' }, messageId: '<a@x>', date: new Date() }));
    const b = await simpleParser(buildMessage(template, { to: 'b@example.com', links: { unsubscribeUrl: 'https://u.example/b', preferencesUrl: 'https://p.example/b' }, messageId: '<b@x>', date: new Date() }));
    expect(a.text).toContain('https://u.example/a');
    expect(a.text).not.toContain('https://u.example/b');
    expect(b.html).toContain('href="https://p.example/b"');
    expect(() => buildMessage(template, { to: 'c@example.com', links: { unsubscribeUrl: '', preferencesUrl: 'https://p' }, messageId: '<c@x>', date: new Date() })).toThrow(/unsubscribeUrl left unfilled/);
  });

  test('messageCommonFor names the list after the kind', () => {
    const common = messageCommonFor({ from: 'A <a@almanac.example>', replyTo: 'r@almanac.example', mailDomain: 'almanac.example' }, 'sunday');
    expect(common.listId).toEqual({ name: 'Sunday', domain: 'sunday.almanac.example' });
    expect(newMessageId('almanac.example')).toMatch(/^<[\w.]+@almanac\.example>$/);
  });

  test('buildSimpleMessage builds the confirmation email', async () => {
    const raw = buildSimpleMessage({ from: COMMON.from, to: 'new@example.com', subject: 'Confirm', html: '<p>Hi</p>', text: 'Hi\n', messageId: '<c@almanac.example>', date: new Date('2026-11-25T07:00:00Z') });
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe('Confirm');
    expect(parsed.text).toBe('Hi\n');
    expect(parsed.html).toBe('<p>Hi</p>');
    expect(parsed.headers.has('list')).toBe(false);
  });

  test.each([
    ['trailing space before a newline', 'a \nb', 'a=20\r\nb'],
    ['equals sign', 'a=b', 'a=3Db'],
    ['leading dot', '.hidden', '=2Ehidden'],
    ['UTF-8', 'é', '=C3=A9'],
  ])('quoted-printable: %s', (_name, input, expected) => {
    expect(encodeQuotedPrintable(input)).toBe(expected);
  });

  test('building 2,000 copies from one template is fast', async () => {
    const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
    const template = compileMessage(await renderEdition(edition, SITE), COMMON);
    const started = performance.now();
    for (let i = 0; i < 2_000; i++) {
      buildMessage(template, { to: `r${i}@example.com`, links: { unsubscribeUrl: `https://almanac.example/unsubscribe/${i}`, preferencesUrl: `https://almanac.example/preferences/${i}` }, messageId: `<${i}@x>`, date: new Date() });
    }
    // ~20 µs each here; the bound is loose so a slow CI machine does not flake.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('quoted-printable output is its own DKIM relaxed canonical form', () => {
  /** A plain QP decoder (RFC 2045 6.7): soft breaks removed, `=XX` decoded. */
  const decode = (qp: string) =>
    Buffer.from(
      qp.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');

  test.each([
    ['tabs', 'a\tb\t\tc'],
    ['runs of spaces', 'two  three   four    end'],
    ['spaces before line ends and at the end', 'line one  \nline two\t\nlast '],
    ['a space run across a soft break', `${'x'.repeat(74)}     y`],
    ['a trailing space on a full line', `${'z'.repeat(75)} \nnext`],
  ])('%s: no tab, no space run, no space before a line end; decodes back to the input', (_what, text) => {
    const encoded = encodeQuotedPrintable(text);
    expect(encoded).not.toMatch(/\t| {2}| \r\n| $/);
    for (const line of encoded.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(decode(encoded)).toBe(text.replace(/\n/g, '\r\n'));
  });
});
