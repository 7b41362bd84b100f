import { createHash } from 'node:crypto';
import DKIM from 'nodemailer/lib/dkim';
import { afterEach, describe, expect, test } from 'vitest';
import type { DkimConfig } from '../src/config.ts';
import { PlainBodyCheck, isPlainPiece, relaxedBody } from '../src/delivery/dkim-canon.ts';
import { DKIM_SIGNED_HEADERS, DkimSigner, foldSignature } from '../src/delivery/dkim.ts';
import { buildMessage, buildMessageBytes, compileMessage, encodeQuotedPrintable, messageCommonFor, newMessageId } from '../src/delivery/mime.ts';
import { sendEdition } from '../src/delivery/sender.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import { address, harness, seedSubscribers } from './delivery-fixtures.ts';
import { dkimSignatures, testDkimKey, verifyWithDkimpy } from './dkim-verifier.ts';
import { fixtureEdition, fullGuides, fullNews, SITE } from './render-fixtures.ts';
import { startSmtpServer } from './smtp.ts';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

const rsaKey = testDkimKey('rsa');
const edKey = testDkimKey('ed25519');
const DOMAIN = 'almanac.example';
const RECORDS = { [`news2026._domainkey.${DOMAIN}`]: rsaKey.record, [`ed2026._domainkey.${DOMAIN}`]: edKey.record };
const DKIM_ENV = {
  DKIM_DOMAIN: DOMAIN,
  DKIM_SELECTOR: 'news2026',
  DKIM_PRIVATE_KEY: rsaKey.privatePem,
  DKIM_ED25519_SELECTOR: 'ed2026',
  DKIM_ED25519_PRIVATE_KEY: edKey.privatePem,
};
const RSA_ONLY: DkimConfig = { domainName: DOMAIN, keySelector: 'news2026', privateKey: rsaKey.privatePem };

/** nodemailer's own signer (the reference): the message with its DKIM-Signature header in front. */
async function nodemailerSigned(message: Buffer | string): Promise<string> {
  const dkim = new DKIM({ domainName: DOMAIN, keySelector: 'news2026', privateKey: rsaKey.privatePem, headerFieldNames: DKIM_SIGNED_HEADERS });
  const chunks: Buffer[] = [];
  for await (const chunk of dkim.sign(Buffer.from(message))) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

async function oursSigned(signer: DkimSigner, pieces: Buffer[]): Promise<string> {
  return Buffer.concat([await signer.sign(pieces), ...pieces]).toString('latin1');
}

async function editionTemplate() {
  const { edition } = await fixtureEdition('sunday', fullNews(), fullGuides());
  const rendered = await renderEdition(edition, SITE);
  return compileMessage(rendered, messageCommonFor({ from: 'Call Me Almanac <newsletter@almanac.example>', replyTo: 'Editors <editors@almanac.example>', mailDomain: DOMAIN }, 'sunday'));
}

const links = (i: number) => ({
  unsubscribeUrl: `https://almanac.example/unsubscribe/${'u'.repeat(i % 90)}tok${i}`,
  preferencesUrl: `https://almanac.example/preferences/p${i}`,
});

describe('DKIM signer', () => {
  test("gives nodemailer's signature, byte for byte, for the same key and message (RSA is deterministic)", async () => {
    const template = await editionTemplate();
    const signer = new DkimSigner(RSA_ONLY);
    for (let i = 0; i < 4; i++) {
      const recipient = { to: address(i + 1), links: links(i * 37), messageId: newMessageId(DOMAIN), date: new Date(), subjectPrefix: i === 3 ? '[TEST] ' : undefined };
      const pieces = buildMessageBytes(template, recipient);
      const reference = dkimSignatures(await nodemailerSigned(Buffer.concat(pieces)));
      const ours = dkimSignatures(await oursSigned(signer, pieces));
      expect(reference).toHaveLength(1);
      expect(ours).toEqual(reference);
    }
    // Copies 2–4 hashed their body from the saved state of the shared leading pieces.
    expect(signer.slowBodies).toBe(0);
  });

  test.each([
    ['tabs and runs of spaces', 'a\tb  c \t d\r\n'],
    ['spaces before line ends', 'one  \r\ntwo\t\r\n'],
    ['empty lines at the end', 'text\r\n\r\n\r\n'],
    ['no line end at the end', 'text'],
    ['bare LF', 'one\ntwo\n'],
    ['only empty lines', '\r\n\r\n'],
    ['an empty body', ''],
  ])('a body that is not its own canonical form is canonicalised in full: %s (same bh as nodemailer)', async (_what, body) => {
    const message = `From: a@almanac.example\r\nTo: b@example.org\r\nSubject: x\r\n\r\n${body}`;
    const signer = new DkimSigner(RSA_ONLY);
    const ours = dkimSignatures(await oursSigned(signer, [Buffer.from(message, 'latin1')]));
    const reference = dkimSignatures(await nodemailerSigned(message));
    expect(ours[0]!.bh).toBe(reference[0]!.bh);
    expect(ours[0]!.b).toBe(reference[0]!.b);
    expect(signer.slowBodies).toBe(body === '' ? 0 : 1);
  });

  test('invariant: every copy Almanac builds is its own relaxed canonical body, and the check catches one that is not', async () => {
    // Text that would not be: tabs, runs of spaces, a space at a line end and at the very end.
    const awkward = `col1\tcol2   col3  \nindented    line \n${'word '.repeat(40)}\nlast `;
    const encoded = encodeQuotedPrintable(awkward);
    expect(isPlainPiece(Buffer.from(encoded))).toBe(true);
    const template = await editionTemplate();
    const check = new PlainBodyCheck();
    for (let i = 0; i < 20; i++) {
      const raw = buildMessage(template, { to: address(i), links: links(i * 13), messageId: newMessageId(DOMAIN), date: new Date() });
      const body = Buffer.from(raw.slice(raw.indexOf('\r\n\r\n') + 4), 'latin1');
      expect(relaxedBody(body).equals(body)).toBe(true);
      expect(check.isPlain([body])).toBe(true);
    }
    // The check itself: each way a body can differ from its canonical form is caught, also across pieces.
    for (const pieces of [['a\tb\r\n'], ['a  b\r\n'], ['a \r\n'], ['a\r\n\r\n'], ['a'], ['a\nb\r\n'], ['a ', ' b\r\n'], ['a ', '\r\n'], ['a\r', 'b\r\n'], ['a', '\nb\r\n']]) {
      const buffers = pieces.map((p) => Buffer.from(p));
      expect(check.isPlain(buffers), JSON.stringify(pieces)).toBe(false);
      expect(relaxedBody(Buffer.concat(buffers)).equals(Buffer.concat(buffers)), JSON.stringify(pieces)).toBe(false);
    }
    expect(check.isPlain([Buffer.from('a '), Buffer.from('b\r\n')])).toBe(true);
  });

  test("folds the signature exactly as nodemailer's expression does, for every length", () => {
    const nodemailerFold = (b64: string) => b64.replace(/(^.{73}|.{75}(?!\r?\n|\r))/g, '$&\r\n ').trim();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    for (let n = 0; n <= 600; n++) {
      const b64 = Array.from({ length: n }, (_, i) => alphabet[(i * 7 + n) % 64]).join('');
      expect(foldSignature(b64), `length ${n}`).toBe(nodemailerFold(b64));
    }
  });

  test('the shared-prefix hash equals a hash of the whole body, whatever the copy', async () => {
    const template = await editionTemplate();
    const signer = new DkimSigner(RSA_ONLY);
    for (let i = 0; i < 6; i++) {
      const pieces = buildMessageBytes(template, { to: address(i), links: links(i * 29), messageId: newMessageId(DOMAIN), date: new Date() });
      const whole = Buffer.concat(pieces);
      const body = whole.subarray(whole.indexOf('\r\n\r\n') + 4);
      expect(signer.bodyHash(pieces.slice(1))).toBe(createHash('sha256').update(body).digest('base64'));
    }
  });
});

describe('DKIM-signed sending, checked by an independent verifier (python3-dkim)', () => {
  test('every RSA and Ed25519 signature on a batch of copies received by a real SMTP server verifies and covers the list headers', async () => {
    const server = await startSmtpServer();
    cleanup.push(() => server.close());
    const h = await harness({ SMTP_URL: server.url, SMTP_MAX_CONNECTIONS: '3', ...DKIM_ENV });
    cleanup.push(() => h.close());
    await seedSubscribers(h.subscribers, Array.from({ length: 30 }, (_, i) => address(i + 1)));
    const summary = await sendEdition(h.deps(), { edition: h.edition, rendered: h.rendered });
    expect(summary.sent).toBe(30);
    expect(server.messages).toHaveLength(30);

    const results = await verifyWithDkimpy(server.messages.map((m) => m.raw), RECORDS);
    expect(results).toEqual(server.messages.map(() => [true, true]));
    for (const m of server.messages) {
      const [rsa, ed] = dkimSignatures(m.raw);
      expect(rsa).toMatchObject({ a: 'rsa-sha256', c: 'relaxed/relaxed', d: DOMAIN, s: 'news2026' });
      expect(ed).toMatchObject({ a: 'ed25519-sha256', c: 'relaxed/relaxed', d: DOMAIN, s: 'ed2026' });
      for (const sig of [rsa!, ed!]) {
        const signed = sig.h!.split(':');
        for (const name of ['from', 'subject', 'date', 'message-id', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post']) expect(signed, name).toContain(name);
      }
    }
  }, 60_000);

  test('the verifier is not a rubber stamp: an altered List-Unsubscribe or body fails both signatures', async () => {
    const template = await editionTemplate();
    const signer = new DkimSigner({ ...RSA_ONLY, ed25519: { keySelector: 'ed2026', privateKey: edKey.privatePem } });
    const raw = await oursSigned(signer, buildMessageBytes(template, { to: address(1), links: links(1), messageId: newMessageId(DOMAIN), date: new Date() }));
    const bodyAt = raw.indexOf('\r\n\r\n');
    const tampered = [
      raw,
      raw.replace('List-Unsubscribe: <https://almanac.example/unsubscribe/', 'List-Unsubscribe: <https://evil.example/unsubscribe/'),
      raw.slice(0, bodyAt) + raw.slice(bodyAt).replace('https://', 'http://'),
    ];
    expect(new Set(tampered).size).toBe(3);
    // dkimpy answers false, or raises "body hash mismatch": either way, not verified.
    const verdicts = (await verifyWithDkimpy(tampered, RECORDS)).map((r) => r.map((v) => v === true));
    expect(verdicts).toEqual([
      [true, true],
      [false, false],
      [false, false],
    ]);
  });
});
