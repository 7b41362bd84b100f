import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { simpleParser } from 'mailparser';
// nodemailer's own MIME builder, to give the reader messages it did not write itself.
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, test } from 'vitest';
import { main } from '../scripts/demo.ts';
import { readableParts } from '../src/delivery/readable-copy.ts';
import { tempDir } from './helpers.ts';

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Line ends as in the decoded files, no trailing white space at the very end. */
function normalise(text: string): string {
  return text.replace(/\r\n/g, '\n').trimEnd();
}

async function runDemo(): Promise<{ root: string; text: string }> {
  const root = tempDir('almanac-outbox-');
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += String(c)));
  expect(await main({ root, now: new Date('2026-11-25T09:00:00Z'), out })).toBe(0);
  return { root, text };
}

describe('the outbox (no SMTP_URL)', () => {
  test('writes each copy decoded beside its .eml: .html and .txt, the same bodies a mail reader sees', async () => {
    const { root, text } = await runDemo();
    const folder = join(root, 'data', 'demo', 'outbox', '2026-11-25-midweek'); // the demo's own outbox
    const files = readdirSync(folder).sort();
    const emls = files.filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(5);
    expect(files).toHaveLength(15);
    for (const eml of emls) {
      const base = join(folder, eml.replace(/\.eml$/, ''));
      const raw = readFileSync(`${base}.eml`);
      const parsed = await simpleParser(raw);
      const html = readFileSync(`${base}.html`, 'utf8');
      const txt = readFileSync(`${base}.txt`, 'utf8');
      expect(normalise(html)).toBe(normalise(parsed.html as string));
      expect(normalise(txt)).toBe(normalise(parsed.text!));
      // The personal unsubscribe link is whole in both, ready to copy (in the .eml it is split by '=' line ends).
      const header = parsed.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
      const unsubscribe = /<(https?:[^>]+)>/.exec(header)?.[1];
      expect(unsubscribe).toMatch(/^http:\/\/localhost:3000\/unsubscribe\//);
      expect(txt).toContain(unsubscribe!);
      expect(html).toContain(`href="${unsubscribe!.replace(/&/g, '&amp;')}"`);
    }
    expect(text).toMatch(/read it decoded: less \S+\/000001-\S+\.txt/);
    expect(text).not.toMatch(/less \S+\.eml/);
  });

  test('copies are readable by their owner only: files 0600 in 0700 folders', async () => {
    const { root } = await runDemo();
    const folder = join(root, 'data', 'demo', 'outbox', '2026-11-25-midweek'); // the demo's own outbox
    expect(mode(join(root, 'data', 'demo', 'outbox'))).toBe(0o700);
    expect(mode(folder)).toBe(0o700);
    for (const file of readdirSync(folder)) expect(mode(join(folder, file)), file).toBe(0o600);
  });
});

describe('readableParts', () => {
  const body = `Ünïcödé line with = signs and a long link https://example.com/${'segment/'.repeat(12)}?a=1&b=2 that must be wrapped.\nSecond line, trailing space \nend`;

  test.each(['quoted-printable', 'base64'] as const)('decodes what nodemailer encodes as %s, like mailparser does', async (encoding) => {
    const raw = await new MailComposer({
      from: 'a@example.org',
      to: 'b@example.org',
      subject: 'x',
      text: body,
      html: `<p>${body.replace(/\n/g, '<br>')}</p>`,
      textEncoding: encoding,
      attachments: [{ filename: 'note.txt', content: 'an attachment, not the text part' }],
    })
      .compile()
      .build();
    const parts = readableParts(raw);
    const parsed = await simpleParser(raw);
    expect(normalise(parts.text!)).toBe(normalise(parsed.text!));
    expect(normalise(parts.html!)).toBe(normalise(parsed.html as string));
    expect(parts.text).toContain(`https://example.com/${'segment/'.repeat(12)}?a=1&b=2`);
  });

  test('a message with only a text body gives only text', () => {
    const raw = Buffer.from('From: a@example.org\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 =\r\nau lait\r\n');
    expect(readableParts(raw)).toEqual({ text: 'Café au lait\n' });
  });
});
