import { randomBytes } from 'node:crypto';
import type { Config, Kind } from '../config.ts';
import { KIND_NAMES } from '../editions/calendar.ts';
import { escapeHtml } from '../render/markdown.ts';
import { SLOT_PATTERN, assertLinks, slotName, type SlotName } from '../render/slots.ts';
import type { RecipientLinks, RenderedEdition } from '../render/types.ts';

/**
 * Prebuilt MIME. Everything common to every copy (both parts, quoted-printable encoded) is built
 * once in compileMessage; buildMessage only joins precomputed chunks with the recipient's headers
 * and slot values. Each slot sits between two soft line breaks (`=\r\n`), so a value of any length
 * is encoded on its own lines and never breaks the 76-character rule of the text around it.
 */

export interface MessageCommon {
  from: string;
  replyTo: string;
  mailDomain: string;
  listId: { name: string; domain: string };
}

/** One body part, split at the slots: `chunks[i]` (encoded), then slot `slots[i]`, then `chunks[i + 1]`… */
interface CompiledPart {
  chunks: string[];
  /** `chunks` as UTF-8 bytes (ASCII: they are quoted-printable), encoded once. */
  bytes: Buffer[];
  slots: SlotName[];
}

/** Text shared by every copy, with its bytes encoded once. */
interface SharedText {
  text: string;
  bytes: Buffer;
}

export interface MessageTemplate {
  readonly id: string;
  readonly subject: string;
  /** Encoded Subject header line for the plain subject (no prefix). */
  readonly subjectHeader: string;
  /** Header lines shared by every copy, CRLF-terminated. */
  readonly commonHeaders: string;
  readonly boundary: string;
  /** The body's opening boundary and the text part's headers. */
  readonly textHead: SharedText;
  /** The end of the text part, the boundary and the HTML part's headers. */
  readonly htmlHead: SharedText;
  /** The closing boundary. */
  readonly end: SharedText;
  readonly text: CompiledPart;
  readonly html: CompiledPart;
}

const CRLF = '\r\n';
const QP_LINE = 76;

/**
 * Quoted-printable encodes UTF-8 text; `\n` becomes a hard CRLF break, long lines get soft breaks.
 *
 * The output is also its own DKIM relaxed body canonicalisation (RFC 6376 3.4.4): a tab, a space
 * after a space and a space ending a line or the text are encoded (`=09`, `=20`), so no line has a
 * run of whitespace or whitespace at its end. The signer relies on that (src/delivery/dkim-canon.ts
 * checks it) to hash each copy's bytes as they are.
 */
export function encodeQuotedPrintable(input: string): string {
  const bytes = Buffer.from(input.replace(/\r\n?/g, '\n'), 'utf8');
  // Lines are collected and joined once: `out += line` would build a rope of thousands of pieces,
  // which V8 walks slowly every time the result is copied or turned into bytes.
  const out: string[] = [];
  let line = '';
  const flush = (soft: boolean) => {
    out.push(soft ? `${line}=${CRLF}` : `${line}${CRLF}`);
    line = '';
  };
  /** Whitespace before a line end must be encoded or transports may strip it (and DKIM would drop it). */
  const encodeTrailingSpace = () => {
    if (!line.endsWith(' ')) return;
    line = line.slice(0, -1);
    if (line.length + 3 > QP_LINE) flush(true);
    line += '=20';
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a) {
      encodeTrailingSpace();
      flush(false);
      continue;
    }
    const literal = (b >= 33 && b <= 126 && b !== 61) || (b === 32 && !line.endsWith(' '));
    if (line.length + (literal ? 1 : 3) > QP_LINE - 1) flush(true);
    // A dot starting a line (also after a soft break) is encoded: some relays mangle leading dots.
    const token = literal && !(b === 0x2e && line === '') ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    line += token;
  }
  encodeTrailingSpace();
  out.push(line);
  return out.join('');
}

function compilePart(body: string, what: string): CompiledPart {
  const chunks: string[] = [];
  const slots: SlotName[] = [];
  let last = 0;
  for (const m of body.matchAll(SLOT_PATTERN)) {
    const name = slotName(m[0]);
    if (!name) throw new Error(`cannot compile ${what}: unknown slot ${m[0]}`);
    chunks.push(`${encodeQuotedPrintable(body.slice(last, m.index))}=${CRLF}`);
    slots.push(name);
    last = m.index + m[0].length;
  }
  chunks.push(encodeQuotedPrintable(body.slice(last)));
  const bytes = chunks.map((c) => Buffer.from(c, 'utf8'));
  // Flat copies of the (ASCII) chunks: joining template-literal ropes per copy is several times slower.
  return { chunks: bytes.map((b) => b.toString('latin1')), bytes, slots };
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** RFC 2047 encoded words (base64, UTF-8), each at most 75 characters, never splitting a character. */
function encodedWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (const ch of text) {
    if (Buffer.byteLength(current + ch) > 45) {
      words.push(current);
      current = '';
    }
    current += ch;
  }
  if (current) words.push(current);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`);
}

/** A header line, RFC 2047 encoded when not ASCII, folded at spaces to stay near 78 characters. */
export function headerLine(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  const words = isAscii(clean) ? clean.split(' ') : encodedWords(clean);
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join(`${CRLF}`) + CRLF;
}

/** An address header; a non-ASCII display name is RFC 2047 encoded, the address itself kept as is. */
function addressLine(name: string, value: string): string {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(value);
  if (!m || isAscii(m[1]!)) return headerLine(name, value.replace(/[\r\n]+/g, ' '));
  return `${name}: ${encodedWords(m[1]!).join(`${CRLF} `)} <${m[2]}>${CRLF}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 date in UTC, e.g. `Wed, 25 Nov 2026 07:00:00 +0000`. */
export function rfc2822Date(date: Date): string {
  return `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/** A fresh Message-ID, `<random@domain>`. */
export function newMessageId(mailDomain: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(12).toString('hex')}@${mailDomain}>`;
}

function newBoundary(): string {
  // `=_` can never occur in quoted-printable output, so the boundary never collides with a body.
  return `=_almanac_${randomBytes(12).toString('hex')}`;
}

function partHeaders(boundary: string, type: 'plain' | 'html'): string {
  return `--${boundary}${CRLF}Content-Type: text/${type}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`;
}

function shared(text: string): SharedText {
  return { text, bytes: Buffer.from(text, 'latin1') };
}

/** Encodes everything common to every copy of an edition, once. */
export function compileMessage(rendered: RenderedEdition, common: MessageCommon): MessageTemplate {
  const listName = /^[\w .-]+$/.test(common.listId.name) ? common.listId.name : JSON.stringify(common.listId.name);
  const commonHeaders =
    addressLine('From', common.from) +
    addressLine('Reply-To', common.replyTo) +
    'MIME-Version: 1.0' + CRLF +
    `List-Id: ${listName} <${common.listId.domain}>` + CRLF +
    'Precedence: bulk' + CRLF;
  const boundary = newBoundary();
  return {
    id: rendered.id,
    subject: rendered.subject,
    subjectHeader: headerLine('Subject', rendered.subject),
    commonHeaders,
    boundary,
    textHead: shared(partHeaders(boundary, 'plain')),
    htmlHead: shared(CRLF + partHeaders(boundary, 'html')),
    end: shared(`${CRLF}--${boundary}--${CRLF}`),
    text: compilePart(rendered.text, `${rendered.id} text part`),
    html: compilePart(rendered.html, `${rendered.id} HTML part`),
  };
}

type RecipientFields = {
  to: string;
  links: RecipientLinks;
  messageId: string;
  date: Date;
  subjectPrefix?: string;
  /**
   * RFC 8058 one-click unsubscribe headers (List-Unsubscribe + List-Unsubscribe-Post). Off only for a
   * test copy to someone who is not a subscriber: there is nothing to unsubscribe them from.
   * @default true
   */
  listUnsubscribe?: boolean;
};

/**
 * One recipient's copy as a list of pieces, in order: the header block (up to and including the
 * blank line that ends it), then the body: the template's shared pieces (through `chunk`) and the
 * small per-recipient slot values (through `small`). The DKIM signer relies on this shape: the
 * header block is the first piece, and shared pieces are the same objects in every copy.
 */
function messagePieces<T>(template: MessageTemplate, recipient: RecipientFields, chunk: (text: string, bytes: Buffer) => T, small: (s: string) => T): T[] {
  assertLinks(recipient.links, `${template.id} for ${recipient.to}`);
  const subject = recipient.subjectPrefix ? headerLine('Subject', recipient.subjectPrefix + template.subject) : template.subjectHeader;
  const pieces: T[] = [
    small(
      template.commonHeaders +
        addressLine('To', recipient.to) +
        subject +
        `Date: ${rfc2822Date(recipient.date)}${CRLF}` +
        `Message-ID: ${recipient.messageId}${CRLF}` +
        (recipient.listUnsubscribe === false
          ? ''
          : `List-Unsubscribe: <${recipient.links.unsubscribeUrl.replace(/[\r\n<>]/g, '')}>${CRLF}List-Unsubscribe-Post: List-Unsubscribe=One-Click${CRLF}`) +
        `Content-Type: multipart/alternative; boundary="${template.boundary}"${CRLF}` +
        CRLF,
    ),
    chunk(template.textHead.text, template.textHead.bytes),
  ];
  // A slot may occur many times in a part (personal tracking: once per tracked link): encode each value once per copy.
  const encoded = new Map<string, string>();
  const addPart = (part: CompiledPart, escape: boolean) => {
    pieces.push(chunk(part.chunks[0]!, part.bytes[0]!));
    for (let i = 0; i < part.slots.length; i++) {
      const name = part.slots[i]!;
      const value = recipient.links[name];
      if (value === undefined) throw new Error(`cannot build ${template.id} for ${recipient.to}: slot ${name} left unfilled`);
      const key = `${escape ? 'h' : 't'}${name}`;
      let text = encoded.get(key);
      if (text === undefined) encoded.set(key, (text = `${encodeQuotedPrintable(escape ? escapeHtml(value) : value)}=${CRLF}`));
      pieces.push(small(text), chunk(part.chunks[i + 1]!, part.bytes[i + 1]!));
    }
  };
  addPart(template.text, false);
  pieces.push(chunk(template.htmlHead.text, template.htmlHead.bytes));
  addPart(template.html, true);
  pieces.push(chunk(template.end.text, template.end.bytes));
  return pieces;
}

/** A complete RFC 5322 message for one recipient, CRLF line endings; throws if a slot value is missing. */
export function buildMessage(template: MessageTemplate, recipient: RecipientFields): string {
  // join (not +=) gives a flat string: a rope of many pieces is very slow to turn into bytes later.
  return messagePieces(template, recipient, (text) => text, (s) => s).join('');
}

/**
 * The same message as buildMessage, as a list of byte pieces: the template's big chunks are encoded
 * once and shared by every copy, so a copy costs only its few small per-recipient pieces, never a
 * UTF-8 encoding of the whole message.
 */
export function buildMessageBytes(template: MessageTemplate, recipient: RecipientFields): Buffer[] {
  return messagePieces(template, recipient, (_text, bytes) => bytes, (s) => Buffer.from(s, 'utf8'));
}

/** A one-off message without list headers or slots (the confirmation email). */
export function buildSimpleMessage(input: {
  from: string;
  replyTo?: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  messageId: string;
  date: Date;
}): string {
  const b = newBoundary();
  return (
    addressLine('From', input.from) +
    (input.replyTo ? addressLine('Reply-To', input.replyTo) : '') +
    addressLine('To', input.to) +
    headerLine('Subject', input.subject) +
    `Date: ${rfc2822Date(input.date)}${CRLF}` +
    `Message-ID: ${input.messageId}${CRLF}` +
    'MIME-Version: 1.0' + CRLF +
    `Content-Type: multipart/alternative; boundary="${b}"${CRLF}` +
    CRLF +
    partHeaders(b, 'plain') +
    encodeQuotedPrintable(input.text) +
    CRLF +
    partHeaders(b, 'html') +
    encodeQuotedPrintable(input.html) +
    CRLF +
    `--${b}--${CRLF}`
  );
}

/** The common headers' values for an edition kind: List-Id `Midweek <midweek.almanac.example>`. */
export function messageCommonFor(config: Pick<Config, 'from' | 'replyTo' | 'mailDomain'>, kind: Kind): MessageCommon {
  return {
    from: config.from,
    replyTo: config.replyTo,
    mailDomain: config.mailDomain,
    listId: { name: KIND_NAMES[kind], domain: `${kind}.${config.mailDomain}` },
  };
}
