import { createHash, createPrivateKey, sign as cryptoSign, type Hash, type KeyObject } from 'node:crypto';
import type { DkimConfig } from '../config.ts';
import { PlainBodyCheck, parseHeaderFields, relaxedBody, relaxedHeaderValue, type HeaderField } from './dkim-canon.ts';

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
/** Length of a base64 SHA-256 (the `bh=` value): every copy's DKIM-Signature has the same layout. */
const BODY_HASH_LENGTH = 44;
/** Stands for the `bh=` value while a signature header's layout is computed (never in a header). */
const BH_PLACEHOLDER = '\u0001'.repeat(BODY_HASH_LENGTH);
/** Canonical header lines remembered; the shared ones (From, Subject, List-Id…) repeat on every copy. */
const CANONICAL_CACHE_SIZE = 64;

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
  /** Raw header field text → its canonical `name:value\r\n` line (bounded; see canonicalLine). */
  private readonly canonical = new Map<string, string>();
  /** Per key and `h=` list: the DKIM-Signature header around its `bh=` value, as sent and as signed. */
  private readonly layouts = new Map<string, SignatureLayout>();

  constructor(config: DkimConfig) {
    this.keys = signingKeys(config);
  }

  /** The DKIM-Signature header lines (CRLF-terminated) to put in front of the message. */
  async sign(message: readonly Buffer[]): Promise<Buffer> {
    const { header, body } = splitMessage(message);
    const bodyHash = this.bodyHash(body);
    const { data, h } = this.relaxedHeaders(parseHeaderFields(header.toString('latin1')));
    if (this.keys.length === 1) return this.signatureHeader(this.keys[0]!, data, h, bodyHash).then((line) => Buffer.from(line, 'latin1'));
    return Promise.all(this.keys.map((key) => this.signatureHeader(key, data, h, bodyHash))).then((lines) => Buffer.from(lines.join(''), 'latin1'));
  }

  /**
   * The canonical header data of the signed fields (for a name that occurs twice, the last
   * occurrence, as RFC 6376 5.4.2 reads fields bottom-up) and the `h=` list of the names present.
   */
  private relaxedHeaders(fields: readonly HeaderField[]): { data: string; h: string } {
    const last = new Map<string, HeaderField>();
    for (const field of fields) last.set(field.key, field);
    let data = '';
    let h = '';
    for (const name of SIGNED_NAMES) {
      const field = last.get(name);
      if (!field) continue;
      data += this.canonicalLine(field);
      h += h === '' ? name : `:${name}`;
    }
    return { data, h };
  }

  /** `name:value\r\n` in relaxed form; the fields every copy shares are canonicalised once. */
  private canonicalLine(field: HeaderField): string {
    let line = this.canonical.get(field.line);
    if (line === undefined) {
      // Per-copy fields (To, Date, Message-ID, List-Unsubscribe) come and go: keep the map small.
      if (this.canonical.size >= CANONICAL_CACHE_SIZE) this.canonical.clear();
      line = `${field.key}:${relaxedHeaderValue(field.line)}\r\n`;
      this.canonical.set(field.line, line);
    }
    return line;
  }

  /** One complete DKIM-Signature header line for `key`, signed on libuv's thread pool. */
  private signatureHeader(key: SigningKey, headerData: string, h: string, bodyHash: string): Promise<string> {
    const { unsigned, canonical } = this.layout(key, h, bodyHash);
    const data = Buffer.from(`${headerData}dkim-signature:${canonical}`, 'latin1');
    return new Promise<string>((resolve, reject) => {
      const done = (error: Error | null, signature: Buffer) => (error ? reject(error) : resolve(`${unsigned}${foldSignature(signature.toString('base64'))}\r\n`));
      // RFC 8463: Ed25519 signs the SHA-256 hash of the header data (PureEdDSA over the digest).
      if (key.algorithm === 'ed25519-sha256') cryptoSign(null, createHash('sha256').update(data).digest(), key.key, done);
      else cryptoSign('sha256', data, key.key, done);
    });
  }

  /**
   * The DKIM-Signature header up to `b=`, as sent (folded) and in relaxed form (what is signed).
   * Only `bh=` changes from copy to copy and it always has the same length, so the folding is
   * computed once per key and `h=` list, around a placeholder.
   */
  private layout(key: SigningKey, h: string, bodyHash: string): { unsigned: string; canonical: string } {
    if (bodyHash.length !== BODY_HASH_LENGTH) return signatureTags(key, h, bodyHash);
    const id = `${key.algorithm} ${key.selector} ${h}`;
    let layout = this.layouts.get(id);
    if (!layout) {
      const tags = signatureTags(key, h, BH_PLACEHOLDER);
      const unsigned = tags.unsigned.split(BH_PLACEHOLDER);
      const canonical = tags.canonical.split(BH_PLACEHOLDER);
      if (unsigned.length !== 2 || canonical.length !== 2) return signatureTags(key, h, bodyHash);
      layout = { unsigned: unsigned as [string, string], canonical: canonical as [string, string] };
      this.layouts.set(id, layout);
    }
    return { unsigned: layout.unsigned[0] + bodyHash + layout.unsigned[1], canonical: layout.canonical[0] + bodyHash + layout.canonical[1] };
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

/** A DKIM-Signature header up to `b=` split around its `bh=` value: as sent, and in relaxed form. */
interface SignatureLayout {
  unsigned: [string, string];
  canonical: [string, string];
}

/** The DKIM-Signature header up to `b=` (folded, as sent) and its relaxed value (as signed). */
function signatureTags(key: SigningKey, h: string, bodyHash: string): { unsigned: string; canonical: string } {
  const unsigned = `${foldTags(
    `DKIM-Signature: v=1; a=${key.algorithm}; c=relaxed/relaxed; d=${key.domain}; q=dns/txt; s=${key.selector}; bh=${bodyHash}; h=${h}`,
  )};\r\n b=`;
  return { unsigned, canonical: relaxedHeaderValue(unsigned) };
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

/**
 * The base64 signature folded as nodemailer folds it (`/(^.{73}|.{75}(?!\r?\n|\r))/g` → `$&\r\n `,
 * trimmed): 73 characters after `b=`, then 75 per line, no fold after the last full line.
 */
export function foldSignature(b64: string): string {
  if (b64.length <= 73) return b64;
  let out = b64.slice(0, 73);
  for (let i = 73; i < b64.length; i += 75) out += `\r\n ${b64.slice(i, i + 75)}`;
  return out;
}
