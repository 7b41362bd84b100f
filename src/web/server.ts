import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createApp, type App, type Route, type RouteRequest, type WebDeps } from './app.ts';
import { DESK_ROUTES } from './desk/routes.ts';
import { HttpError, parseBody, wantsJson, writeReply, type ParsedBody } from './http.ts';
import { errorReply } from './pages.ts';
import * as routes from './routes/index.ts';
import { rateLimitKey } from './rate-limit.ts';
import { ClientAddress } from './trust-proxy.ts';
import { handleTracking } from '../tracking/handler.ts';

export type { WebDeps } from './app.ts';

/** Every URL the server answers; path parameters are one segment each. */
const ROUTES: Route[] = [
  { pattern: /^\/$/, methods: { GET: routes.home } },
  { pattern: /^\/subscribe$/, methods: { GET: routes.subscribeForm, POST: routes.subscribe } },
  { pattern: /^\/confirm\/([^/]+)$/, methods: { GET: routes.confirm } },
  { pattern: /^\/unsubscribe\/([^/]+)$/, methods: { GET: routes.unsubscribePage, POST: routes.unsubscribe } },
  { pattern: /^\/preferences\/([^/]+)$/, methods: { GET: routes.preferencesPage, POST: routes.savePreferences } },
  { pattern: /^\/archive\/?$/, methods: { GET: routes.archiveIndex } },
  { pattern: /^\/archive\/([^/]+)$/, methods: { GET: routes.archiveEdition } },
  { pattern: /^\/feed\.xml$/, methods: { GET: routes.feed } },
  { pattern: /^\/guides\/([^/]+)$/, methods: { GET: routes.guidePage } },
  { pattern: /^\/healthz$/, methods: { GET: routes.health } },
  { pattern: /^\/webhooks\/mailgun$/, methods: { POST: routes.mailgunWebhook } },
  { pattern: /^\/webhooks\/postmark$/, methods: { POST: routes.postmarkWebhook } },
  { pattern: /^\/webhooks\/ses$/, methods: { POST: routes.sesWebhook } },
  // The editors' desk (src/web/desk/): signed-in pages under /desk.
  ...DESK_ROUTES,
];

const servers = new WeakMap<Server, App>();

/** The public web server (node:http, server-rendered pages, no scripts). Not listening: the caller listens. */
export async function createWebServer(deps: WebDeps): Promise<Server> {
  const app = await createApp(deps);
  const addresses = new ClientAddress(deps.config.trustProxy);
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000 }, (req, res) => {
    handle(app, addresses, req, res).catch((error: unknown) => {
      app.log(`${req.method} ${safePath(req)} failed: ${(error as Error).message}`);
      if (!res.headersSent) writeReply(res, errorReply(500, 'Something went wrong on our side.', wantsJson(req)));
      else res.destroy();
    });
  });
  servers.set(server, app);
  return server;
}

/** Resolves when the server's background work (confirmation emails in flight) is done. */
export function serverIdle(server: Server): Promise<void> {
  return servers.get(server)?.idle() ?? Promise.resolve();
}

function safePath(req: IncomingMessage): string {
  // Tokens are credentials: keep them out of logs.
  return (req.url ?? '').split('?')[0]!.replace(/^\/(confirm|unsubscribe|preferences|r|desk\/sign-in)\/.*/, '/$1/…');
}

function decodeParam(param: string): string {
  try {
    return decodeURIComponent(param);
  } catch {
    return param; // malformed escapes: the route treats it as the unknown value it is
  }
}

async function handle(app: App, addresses: ClientAddress, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // GET/HEAD /r/<token> and the pixel (issue 18), with the visitor's address as this server resolves it behind a
  // proxy; a client's events are counted up to the tracking limiter's bound (by reader, else by address, IPv6 by /64).
  if (
    app.deps.tracking &&
    (await handleTracking(req, res, {
      clientIp: (r) => addresses.resolve(r.socket.remoteAddress, r.headers['x-forwarded-for']),
      admit: ({ ip, reader }) => app.trackingLimiter.hit(reader !== undefined ? `reader ${reader}` : rateLimitKey(ip ?? 'unknown')).allowed,
      ...app.deps.tracking,
    }))
  )
    return;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = ROUTES.find((r) => r.pattern.test(url.pathname));
  if (!route) return writeReply(res, errorReply(404, `There is no page at ${url.pathname}.`, wantsJson(req)));
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const handler = route.methods[method as 'GET' | 'POST'];
  if (!handler) {
    const allow = Object.keys(route.methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
    return writeReply(res, errorReply(405, `${req.method} is not allowed here: use ${allow}.`, wantsJson(req), { Allow: allow }));
  }
  const params = route.pattern.exec(url.pathname)!.slice(1).map(decodeParam);
  let parsed: Promise<ParsedBody> | undefined;
  const request: RouteRequest = {
    req,
    method,
    url,
    params,
    ip: addresses.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']),
    body: () => (parsed ??= parseBody(req)),
  };
  try {
    writeReply(res, await handler(request, app));
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    writeReply(res, errorReply(error.status, error.message, wantsJson(req), error.headers));
  }
}
