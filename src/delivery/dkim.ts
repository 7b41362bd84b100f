import { createHash, createPrivateKey, sign as cryptoSign, type Hash, type KeyObject } from 'node:crypto';
import type { DkimConfig } from '../config.ts';
import { PlainBodyCheck, parseHeaderFields, relaxedBody, relaxedHeaderValue, relaxedHeaders } from './dkim-canon.ts';

/**
 * Headers covered by the DKIM signature. RFC 8058 one-click unsubscribe is only honoured when the
 * signature covers both List-Unsubscribe and List-Unsubscribe-Post.
 */
export const DKIM_SIGNED_HEADERS = [
  'From', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post',
].join(':');

const SIGNED_NAMES = DKIM_SIGNED_HEADERS.toLowerCase().split(':');
const HEADER_END = Buffer.from('\r\n\r\n');

interface SigningKey {
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  domain: string;
  selector: string;
  key: KeyObject;
}

/** The signing keys of a DKIM config: the RSA key, then the Ed25519 one when configured. */
function signingKeys(config: DkimConfig): SigningKey[] {
  const keys: SigningKey[] = [
    { algorithm: 'rsa-sha256', domain: config.domainName, selector: config.keySelector, key: createPrivateKey(config.privateKey) },
  ];
  if (config.ed25519) {
    keys.push({ algorithm: 'ed25519-sha256', domain: config.domainName, selector: config.ed25519.keySelector, key: createPrivateKey(config.ed25519.privateKey) });
  }
  return keys;
}

/**
 * DKIM signer for prebuilt messages (relaxed/relaxed, SHA-256; RSA, plus Ed25519 per RFC 8463 when
 * configured). Per copy it hashes the body's bytes as they are (they are their own canonical form,
 * checked), continuing from a saved hash state for the body's leading pieces shared with the
 * previous copy (`hash.copy()`), canonicalises the few signed headers, and signs on libuv's thread
 * pool (`crypto.sign` with a callback), so a second core does the RSA arithmetic while the event
 * loop talks SMTP. The output is what nodemailer's signer writes for the same message and key
 * (tests/dkim.test.ts compares them).
 */
export class DkimSigner {
  private readonly keys: SigningKey[];
  private readonly check = new PlainBodyCheck();
  /** The body pieces of the previous copy, to find the leading pieces copies share. */
  private previous: readonly Buffer[] = [];
  /** A SHA-256 state after the shared leading pieces of the body. */
  private prefix: { pieces: readonly Buffer[]; hash: Hash } | undefined;
  /** Copies whose body needed the general canonicalisation (0 for Almanac's own messages). */
  slowBodies = 0;

  constructor(config: DkimConfig) {
    this.keys = signingKeys(config);
  }

  /** The DKIM-Signature header lines (CRLF-terminated) to put in front of the message. */
  async sign(message: readonly Buffer[]): Promise<Buffer> {
    const { header, body } = splitMessage(message);
    const bodyHash = this.bodyHash(body);
    const { data, h } = relaxedHeaders(parseHeaderFields(header.toString('latin1')), SIGNED_NAMES);
    const lines = await Promise.all(this.keys.map((key) => signatureHeader(key, data, h, bodyHash)));
    return Buffer.from(lines.join(''), 'latin1');
  }

  /** Base64 SHA-256 of the body's relaxed canonical form. */
  bodyHash(body: readonly Buffer[]): string {
    if (!this.check.isPlain(body)) {
      this.slowBodies++;
      return createHash('sha256').update(relaxedBody(Buffer.concat(body))).digest('base64');
    }
    const prefix = this.sharedPrefix(body);
    const hash = prefix ? prefix.hash.copy() : createHash('sha256');
    for (let i = prefix?.pieces.length ?? 0; i < body.length; i++) hash.update(body[i]!);
    return hash.digest('base64');
  }

  /**
   * The saved state for the leading body pieces this copy shares (the very same Buffer objects)
   * with the copies before it; learned from the first two copies of a template, relearned when
   * the template changes.
   */
  private sharedPrefix(body: readonly Buffer[]): { pieces: readonly Buffer[]; hash: Hash } | undefined {
    const known = this.prefix;
    if (known && known.pieces.length <= body.length && known.pieces.every((piece, i) => piece === body[i])) return known;
    let n = 0;
    while (n < body.length && n < this.previous.length && body[n] === this.previous[n]) n++;
    this.previous = body;
    if (n === 0) return undefined;
    const pieces = body.slice(0, n);
    const hash = createHash('sha256');
    for (const piece of pieces) hash.update(piece);
    this.prefix = { pieces, hash };
    return this.prefix;
  }
}

/** The header block (without the blank line) and the body pieces of a message given as pieces. */
function splitMessage(message: readonly Buffer[]): { header: Buffer; body: readonly Buffer[] } {
  const first = message[0] ?? Buffer.alloc(0);
  const end = first.indexOf(HEADER_END);
  if (end !== -1) {
    const rest = first.subarray(end + 4);
    return { header: first.subarray(0, end + 2), body: rest.length > 0 ? [rest, ...message.slice(1)] : message.slice(1) };
  }
  // The header block does not end in the first piece: join once and split.
  const whole = Buffer.concat(message);
  const at = whole.indexOf(HEADER_END);
  if (at === -1) return { header: whole, body: [] };
  return { header: whole.subarray(0, at + 2), body: [whole.subarray(at + 4)] };
}

/** One complete DKIM-Signature header line for `key`. */
async function signatureHeader(key: SigningKey, headerData: string, h: string, bodyHash: string): Promise<string> {
  const unsigned = `${foldTags(
    `DKIM-Signature: v=1; a=${key.algorithm}; c=relaxed/relaxed; d=${key.domain}; q=dns/txt; s=${key.selector}; bh=${bodyHash}; h=${h}`,
  )};\r\n b=`;
  const data = Buffer.from(`${headerData}dkim-signature:${relaxedHeaderValue(unsigned)}`, 'latin1');
  const signature = await new Promise<Buffer>((resolve, reject) => {
    const done = (error: Error | null, result: Buffer) => (error ? reject(error) : resolve(result));
    // RFC 8463: Ed25519 signs the SHA-256 hash of the header data (PureEdDSA over the digest).
    if (key.algorithm === 'ed25519-sha256') cryptoSign(null, createHash('sha256').update(data).digest(), key.key, done);
    else cryptoSign('sha256', data, key.key, done);
  });
  return `${unsigned}${foldSignature(signature.toString('base64'))}\r\n`;
}

/**
 * Folds the tag list before a space so that no line passes 76 characters where a space allows
 * it (a tag value without spaces stays on one line). Unfolding (relaxed canonicalisation) only
 * removes the inserted CRLFs, so the signed form is the unfolded one.
 */
function foldTags(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/(?= )/)) {
    if (line.length > 0 && line.length + word.length > 76) {
      lines.push(line);
      line = '';
    }
    line += word;
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** The base64 signature folded as nodemailer folds it: 73 characters after `b=`, then 75 per line. */
function foldSignature(b64: string): string {
  return b64.replace(/(^.{73}|.{75}(?!\r?\n|\r))/g, '$&\r\n ').trim();
}
