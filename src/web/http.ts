import type { IncomingMessage, ServerResponse } from 'node:http';
import { multipartBoundary, parseMultipart } from './multipart.ts';

/** Bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 10 * 1024;
/** Past this many bytes the connection is dropped instead of drained. */
const DRAIN_LIMIT = 1024 * 1024;

/** An HTTP failure with a message that is safe to show. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What a route answers. */
export interface Reply {
  status: number;
  type: 'html' | 'json' | 'xml' | 'text';
  body: string;
  headers?: Record<string, string>;
}

const TYPES: Record<Reply['type'], string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/rss+xml; charset=utf-8',
  text: 'text/plain; charset=utf-8',
};

/** Headers on every response: no scripts, no framing, no MIME sniffing. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** Writes a Reply with the security headers. */
export function writeReply(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    ...SECURITY_HEADERS,
    'Content-Type': TYPES[reply.type],
    'Cache-Control': 'no-store',
    ...reply.headers,
  });
  res.end(reply.body);
}

/** Reads the request body; over MAX_BODY_BYTES it throws HttpError 413 (after draining up to 1 MB, so the client sees the reply). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `request body too large: at most ${MAX_BODY_BYTES} bytes`, { Connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > DRAIN_LIMIT) {
        // Stop reading; the reply goes out with Connection: close.
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
      }
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
  });
}

/** A parsed request body: form fields (repeated names kept), or JSON. */
export interface ParsedBody {
  kind: 'form' | 'json' | 'empty';
  fields: Map<string, string[]>;
  json: unknown;
}

function toFields(pairs: Iterable<[string, string]>): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const [k, v] of pairs) fields.set(k, [...(fields.get(k) ?? []), v]);
  return fields;
}

/** Reads and parses an urlencoded, multipart/form-data or JSON body; other types give no fields. */
export async function parseBody(req: IncomingMessage): Promise<ParsedBody> {
  const body = await readBody(req);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length === 0) return { kind: 'empty', fields: new Map(), json: undefined };
  if (type.startsWith('application/json')) {
    try {
      return { kind: 'json', fields: new Map(), json: JSON.parse(body.toString('utf8')) };
    } catch {
      throw new HttpError(400, 'request body is not valid JSON');
    }
  }
  if (type.startsWith('multipart/form-data')) {
    const boundary = multipartBoundary(req.headers['content-type'] ?? '');
    if (!boundary) throw new HttpError(400, 'multipart/form-data body without a boundary');
    return { kind: 'form', fields: toFields(parseMultipart(body, boundary)), json: undefined };
  }
  if (type.startsWith('application/x-www-form-urlencoded') || type === '' || type.startsWith('text/plain')) {
    return { kind: 'form', fields: toFields(new URLSearchParams(body.toString('utf8'))), json: undefined };
  }
  return { kind: 'empty', fields: new Map(), json: undefined };
}

/** The first value of a form field. */
export function field(body: ParsedBody, name: string): string | undefined {
  return body.fields.get(name)?.[0];
}

/** True when the client asked for JSON (JSON body or an Accept header preferring it). */
export function wantsJson(req: IncomingMessage, body?: ParsedBody): boolean {
  if (body?.kind === 'json') return true;
  if ((req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return true;
  const accept = (req.headers.accept ?? '').toLowerCase();
  return accept.includes('application/json') && !accept.includes('text/html');
}
