import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { simpleParser } from 'mailparser';
import type { TestSmtpServer } from './smtp.ts';

/** One HTTP reply, read whole. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over node:http (so a test can choose the client's source address, e.g. 127.0.0.2). */
export function send(url: string, opts: { method?: string; form?: Record<string, string>; cookie?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<HttpReply> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
        localAddress: opts.localAddress,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
          ...(opts.cookie ? { Cookie: opts.cookie } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of the first hidden `csrf` field in a page. */
export function csrfOf(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error(`no csrf field in the page: ${page.slice(0, 300)}`);
  return m[1]!;
}

/** A client with a cookie jar, as one browser would be (cookies set with Max-Age=0 are dropped). */
export class DeskClient {
  readonly jar = new Map<string, string>();

  constructor(
    readonly origin: string,
    readonly localAddress?: string,
  ) {}

  /** The Cookie header this client sends. */
  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string): Promise<HttpReply> {
    return this.keep(await send(`${this.origin}${path}`, { cookie: this.cookie, localAddress: this.localAddress }));
  }

  async post(path: string, form: Record<string, string>): Promise<HttpReply> {
    return this.keep(await send(`${this.origin}${path}`, { form, cookie: this.cookie, localAddress: this.localAddress }));
  }

  private keep(reply: HttpReply): HttpReply {
    for (const line of reply.headers['set-cookie'] ?? []) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      if (/max-age=0(;|$)/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return reply;
  }
}

/** Waits for the next sign-in mail to `email` (after `seen` messages) and returns the link's path. */
export async function signInLinkFrom(smtp: TestSmtpServer, email: string, seen = 0): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const message = smtp.messages.slice(seen).find((m) => m.to.includes(email));
    if (message) {
      const mail = await simpleParser(message.raw);
      const m = /https?:\/\/[^/\s]+(\/desk\/sign-in\/[A-Za-z0-9_-]+)/.exec(mail.text ?? '');
      if (!m) throw new Error(`no sign-in link in the mail: ${mail.text}`);
      return m[1]!;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no sign-in mail to ${email} arrived`);
}

/** Signs `client` in as `email` through the sign-in page and the mailed link; returns the link's path (spent). */
export async function signIn(client: DeskClient, smtp: TestSmtpServer, email: string): Promise<string> {
  const seen = smtp.messages.length;
  const form = await client.get('/desk/sign-in');
  const asked = await client.post('/desk/sign-in', { csrf: csrfOf(form.body), email });
  if (asked.status !== 200) throw new Error(`sign-in request refused: ${asked.status} ${asked.body}`);
  const link = await signInLinkFrom(smtp, email, seen);
  const page = await client.get(link);
  const spent = await client.post(link, { csrf: csrfOf(page.body) });
  if (spent.status !== 303) throw new Error(`sign-in link refused: ${spent.status} ${spent.body}`);
  return link;
}
