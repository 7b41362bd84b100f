/**
 * The HTML and text bodies of a complete MIME message, decoded (quoted-printable, base64), so a
 * copy written to the outbox can be read and its links copied: in the raw `.eml` they are broken
 * across `=` soft line ends. A small reader for the messages we build (multipart/alternative,
 * possibly nested): fast enough to run on every outbox copy.
 */

export interface ReadableParts {
  html?: string;
  text?: string;
}

interface Part {
  headers: Map<string, string>;
  body: Buffer;
}

/** Splits bytes at the first empty line into unfolded headers (lowercase names) and the body. */
function splitPart(bytes: Buffer): Part {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  const [end, gap] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf >= 0 ? [lf, 2] : [bytes.length, 0];
  const headers = new Map<string, string>();
  const unfolded = bytes.subarray(0, end).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
  }
  return { headers, body: bytes.subarray(Math.min(bytes.length, end + gap)) };
}

/** A parameter of a header value such as `multipart/alternative; boundary="x"`. */
function param(value: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

function decodeQuotedPrintable(body: Buffer): Buffer {
  const text = body
    .toString('latin1')
    .replace(/=[ \t]*\r?\n/g, '') // soft line breaks (a space before the '=' is text)
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(text, 'latin1');
}

function decodeBody(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const bytes =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(part.body)
      : encoding === 'base64'
        ? Buffer.from(part.body.toString('latin1').replace(/\s+/g, ''), 'base64')
        : part.body;
  const charset = param(part.headers.get('content-type') ?? '', 'charset') ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  // Line ends back to the platform's: a .txt read in a terminal should not show CRs.
  return decoder.decode(bytes).replace(/\r\n/g, '\n');
}

/** The parts between `--boundary` lines, without the preamble and the epilogue. */
function multipartBodies(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = -1;
  for (let at = body.indexOf(delimiter); at >= 0; at = body.indexOf(delimiter, at + delimiter.length)) {
    // A delimiter counts only at the start of a line.
    if (at > 0 && body[at - 1] !== 0x0a) continue;
    if (start >= 0) {
      // The line break before the delimiter belongs to the delimiter.
      const end = body[at - 2] === 0x0d ? at - 2 : at - 1;
      parts.push(body.subarray(start, end));
    }
    if (body[at + delimiter.length] === 0x2d && body[at + delimiter.length + 1] === 0x2d) break; // closing --boundary--
    const lineEnd = body.indexOf(0x0a, at);
    if (lineEnd < 0) break;
    start = lineEnd + 1;
  }
  return parts;
}

function collect(part: Part, out: ReadableParts, depth: number): void {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = param(part.headers.get('content-type')!, 'boundary');
    if (!boundary || depth > 5) return;
    for (const bytes of multipartBodies(part.body, boundary)) collect(splitPart(bytes), out, depth + 1);
    return;
  }
  if (disposition.startsWith('attachment')) return;
  if (type.startsWith('text/html') && out.html === undefined) out.html = decodeBody(part);
  else if (type.startsWith('text/plain') && out.text === undefined) out.text = decodeBody(part);
}

/** The first text/html and text/plain bodies of a raw message, decoded to strings. */
export function readableParts(raw: Buffer): ReadableParts {
  const out: ReadableParts = {};
  collect(splitPart(raw), out, 0);
  return out;
}
