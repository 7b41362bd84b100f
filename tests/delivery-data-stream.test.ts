import DataStream from 'nodemailer/lib/smtp-connection/data-stream';
import { describe, expect, test } from 'vitest';
import { buildMessageBytes, compileMessage, newMessageId } from '../src/delivery/mime.ts';
import { installDataStreamFastPath, passesUnchanged } from '../src/delivery/data-stream-fast-path.ts';
import { createTransport } from '../src/delivery/create-transport.ts';
import { harness } from './delivery-fixtures.ts';
import { startSmtpServer } from './smtp.ts';

const nodemailerTransform = installDataStreamFastPath();

/** Runs chunks through a DataStream, with nodemailer's own loop or with the installed fast path. */
async function encode(chunks: Buffer[], stock: boolean) {
  const stream = new DataStream();
  if (stock) (stream as unknown as { _transform: unknown })._transform = nodemailerTransform;
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const c of chunks) stream.write(c);
  stream.end();
  await ended;
  return { bytes: Buffer.concat(out).toString('latin1'), inByteCount: stream.inByteCount, outByteCount: stream.outByteCount };
}

/** A seeded generator, so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

describe("nodemailer's DATA encoder with the fast path", () => {
  test('gives byte for byte what nodemailer gives, on random input cut into random chunks', async () => {
    const rnd = random(7);
    // Mostly clean CRLF text (the fast path's case), with stray CR, LF and dots mixed in.
    const pieces = ['\r\n', '\r\n', 'text ', 'line', '\r\n.', '.', '\n', '\r', '\r\r\n', '\n.', 'é'];
    for (let run = 0; run < 400; run++) {
      const clean = run % 2 === 0;
      let text = '';
      const length = 1 + Math.floor(rnd() * 60);
      for (let i = 0; i < length; i++) text += clean ? ['x', 'yz ', '\r\n'][Math.floor(rnd() * 3)] : pieces[Math.floor(rnd() * pieces.length)];
      const bytes = Buffer.from(text, 'utf8');
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(rnd() * 12);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(await encode(chunks, false), JSON.stringify(text)).toEqual(await encode(chunks, true));
    }
  });

  test('the chunk-boundary cases: CR | LF, CR | dot, LF | dot, a first dot, a bare LF first', async () => {
    const cases = [['a\r', '\nb'], ['a\r', '.b'], ['a\r\n', '.b'], ['.a\r\n'], ['\nab'], ['a\r\n', '\n'], ['ok\r\n', 'ok\r\n']];
    for (const c of cases) {
      const chunks = c.map((s) => Buffer.from(s));
      expect(await encode(chunks, false), JSON.stringify(c)).toEqual(await encode(chunks, true));
    }
  });

  test("Almanac's own messages take the fast path: CRLF only, no line starting with a dot", async () => {
    const h = await harness();
    try {
      const template = compileMessage(h.rendered, { from: h.config.from, replyTo: h.config.replyTo, mailDomain: h.config.mailDomain, listId: { name: 'Midweek', domain: 'midweek.almanac.example' } });
      const links = { unsubscribeUrl: 'https://almanac.example/unsubscribe/.tok', preferencesUrl: 'https://almanac.example/preferences/.tok' };
      const message = Buffer.concat(buildMessageBytes(template, { to: 'reader@example.org', links, messageId: newMessageId('almanac.example'), date: new Date() }));
      expect(message.length).toBeGreaterThan(5000);
      expect(passesUnchanged(message, false)).toBe(true);
    } finally {
      await h.close();
    }
  });

  test('a message that needs stuffing still arrives intact through a real server', async () => {
    const server = await startSmtpServer();
    const h = await harness({ SMTP_URL: server.url });
    try {
      const transport = createTransport(h.config);
      const raw = 'From: a@almanac.example\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\nbare LF\r\n.\r\nend\r\n';
      expect(await transport.send({ from: 'a@almanac.example', to: 'b@example.org', raw, messageId: '<x@almanac.example>', editionId: 'e' })).toMatchObject({ status: 'sent' });
      await transport.close();
      expect(server.messages[0]!.raw).toBe(raw.replace(/\r?\n/g, '\r\n'));
    } finally {
      await h.close();
      await server.close();
    }
  });
});
