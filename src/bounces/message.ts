import { simpleParser, type ParsedMail } from 'mailparser';
import { addressOf, diagnosticOf, fieldGroups, headerFields, messageIdOf, type Fields } from './fields.ts';

/** One recipient group of a delivery-status report (RFC 3464 §2.3). */
export interface DsnRecipient {
  recipient: string | undefined;
  action: string | undefined;
  status: string | undefined;
  diagnostic: string | undefined;
}

/** An incoming message, read as far as a bounce handler cares. */
export interface IncomingMessage {
  subject: string;
  /** The From header's address (lowercase). */
  from: string | undefined;
  /** The outer header fields (lowercase names). */
  headers: Fields;
  /** multipart/report; report-type=delivery-status: one entry per recipient group. */
  dsn: { recipients: DsnRecipient[]; originalMessageId: string | undefined } | undefined;
  /** multipart/report; report-type=feedback-report (RFC 5965). */
  arf: { feedbackType: string; originalRcptTo: string | undefined; originalMailFrom: string | undefined } | undefined;
  /** Headers of the returned original (message/rfc822 or text/rfc822-headers part), when there is one. */
  returned: Fields | undefined;
  /** The human-readable text (the first text/plain part, or the body of a plain message). */
  text: string;
  /** The whole message as text, where VERP tags are looked for (headers, returned copy, body). */
  raw: string;
}

/** The input is not an RFC 5322 message at all (empty, binary, no header section). */
export class NotAMessageError extends Error {
  override name = 'NotAMessageError';
}

const KNOWN_HEADERS = new Set(['from', 'to', 'subject', 'date', 'message-id', 'received', 'return-path', 'content-type', 'mime-version', 'delivered-to']);

/** Checks that the bytes start with a header section an MTA would have written; throws NotAMessageError naming what is wrong. */
function assertMessage(raw: string): void {
  if (raw.trim() === '') throw new NotAMessageError('empty input');
  if (raw.includes('\u0000')) throw new NotAMessageError('binary data (NUL bytes), not a mail message');
  let text = raw;
  if (text.startsWith('From ')) text = text.slice(text.indexOf('\n') + 1); // mbox "From " line
  if (!/^[A-Za-z0-9-]+:/.test(text)) throw new NotAMessageError('does not start with a header field (Name: value)');
  const headers = headerFields(text);
  if (![...headers.keys()].some((k) => KNOWN_HEADERS.has(k))) {
    throw new NotAMessageError('no From, To, Subject, Date, Received or Message-ID header');
  }
}

function partText(content: Buffer | string): string {
  return typeof content === 'string' ? content : content.toString('utf8');
}

/**
 * The headers of a returned copy found in the raw MIME: mailparser renders an inline message/rfc822
 * part into the text and drops its headers, but RFC 2046 keeps such a part unencoded, so its header
 * block can be read where it is.
 */
function returnedHeadersInRaw(raw: string): Fields | undefined {
  const part = /^Content-Type:[ \t]*(message\/rfc822|text\/rfc822-headers|message\/global)\b/im.exec(raw);
  if (!part) return undefined;
  const partHeadersEnd = /\r?\n\r?\n/g;
  partHeadersEnd.lastIndex = part.index;
  const end = partHeadersEnd.exec(raw);
  if (!end) return undefined;
  const fields = headerFields(raw.slice(end.index + end[0].length));
  return fields.size > 0 ? fields : undefined;
}

/** Reads a raw message (RFC 5322) with mailparser, keeping the delivery-status and feedback-report parts. */
export async function readMessage(input: Buffer | string): Promise<IncomingMessage> {
  let bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let raw = bytes.toString('latin1'); // one character per byte: offsets match, nothing is lost
  assertMessage(raw);
  if (raw.startsWith('From ')) {
    const skip = raw.indexOf('\n') + 1; // mbox "From " line
    bytes = bytes.subarray(skip);
    raw = raw.slice(skip);
  }
  const body = raw;
  let parsed: ParsedMail;
  try {
    // A Buffer, not a string: mailparser reads a Buffer about four times faster.
    parsed = await simpleParser(bytes, { keepDeliveryStatus: true, skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true } as Parameters<typeof simpleParser>[1]);
  } catch (cause) {
    throw new NotAMessageError(`cannot be parsed as a mail message: ${(cause as Error).message}`);
  }
  const headers = headerFields(body);
  let dsn: IncomingMessage['dsn'];
  let arf: IncomingMessage['arf'];
  let returned: Fields | undefined;
  for (const part of parsed.attachments) {
    const type = part.contentType.toLowerCase();
    if (type === 'message/delivery-status' || type === 'message/global-delivery-status') {
      const [perMessage, ...groups] = fieldGroups(partText(part.content));
      dsn = {
        originalMessageId: messageIdOf(perMessage?.get('x-original-message-id')),
        recipients: groups
          .filter((g) => g.has('final-recipient') || g.has('original-recipient') || g.has('action') || g.has('status'))
          .map((g) => ({
            recipient: addressOf(g.get('final-recipient')) ?? addressOf(g.get('original-recipient')),
            action: g.get('action')?.toLowerCase().split(/[\s(]/)[0],
            status: /^\d\.\d{1,3}\.\d{1,3}/.exec(g.get('status') ?? '')?.[0],
            diagnostic: diagnosticOf(g.get('diagnostic-code')),
          })),
      };
    } else if (type === 'message/feedback-report') {
      const fields = fieldGroups(partText(part.content))[0] ?? new Map<string, string>();
      arf = {
        feedbackType: (fields.get('feedback-type') ?? '').toLowerCase(),
        originalRcptTo: addressOf(fields.get('original-rcpt-to')),
        originalMailFrom: addressOf(fields.get('original-mail-from')),
      };
    } else if (type === 'message/rfc822' || type === 'text/rfc822-headers' || type === 'message/rfc822-headers' || type === 'message/global') {
      returned ??= headerFields(partText(part.content));
    }
  }
  returned ??= returnedHeadersInRaw(body);
  const reportType = (headers.get('content-type') ?? '').toLowerCase();
  if (!arf && /report-type\s*=\s*"?feedback-report/.test(reportType)) arf = { feedbackType: '', originalRcptTo: undefined, originalMailFrom: undefined };
  return {
    subject: parsed.subject ?? '',
    from: parsed.from?.value[0]?.address?.toLowerCase(),
    headers,
    dsn,
    arf,
    returned,
    text: parsed.text ?? '',
    raw: body,
  };
}
