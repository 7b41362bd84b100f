import type { IncomingMessage } from 'node:http';
import type { Config } from '../config.ts';
import type { Transport } from '../delivery/transport.ts';
import { oneLine } from '../log.ts';
import { redact } from '../redact.ts';
import type { Store } from '../store/handle.ts';
import { loadSecret } from '../store/secret.ts';
import { SubscriberStore } from '../store/subscribers.ts';
import { Tokens } from '../subscribers/tokens.ts';
import type { ParsedBody, Reply } from './http.ts';
import type { TrackingDeps } from '../tracking/handler.ts';
import { CLIENT_EVENTS, CLIENT_WINDOW_MS } from '../tracking/recorder.ts';
import { ContentCache, PageCache } from './content-cache.ts';
import { SlidingWindowLimiter } from './rate-limit.ts';

/** What the web server needs; the caller builds the real things. */
export interface WebDeps {
  config: Config;
  /** The store (SQLite or PostgreSQL): web servers on several hosts share one PostgreSQL database. */
  store: Store;
  transport: Transport;
  contentDir: string;
  /** Scheduler state for /healthz. */
  health?: () => Record<string, unknown>;
  /** Subscribe requests per IP per window. @default { limit: 5, windowMs: 600_000 } */
  subscribeRateLimit?: { limit: number; windowMs: number };
  /** @default () => new Date() */
  clock?: () => Date;
  /** Operator log lines (never addresses), each already one line with secrets masked. @default a line to stderr */
  log?: (line: string) => void;
  /** GETs an Amazon SNS URL (signing certificate, subscription confirmation) after its host is checked. @default https */
  fetchSns?: (url: string) => Promise<string>;
  /** The tracked-link endpoint `/r/<token>` (src/tracking/, createTrackingDeps); unset: not served. */
  tracking?: TrackingDeps;
  /** Click/open events counted per client (address or reader) per window. @default { limit: CLIENT_EVENTS, windowMs: CLIENT_WINDOW_MS } */
  trackingRateLimit?: { limit: number; windowMs: number };
  /** Desk sign-in requests per address and per client per window. @default src/web/desk/state.ts SIGN_IN_RATE_LIMIT */
  signInRateLimit?: { perAddress: { limit: number; windowMs: number }; perClient: { limit: number; windowMs: number } };
}

/** Shared state of one server: the store, tokens, limiter and the background work in flight. */
export interface App {
  deps: WebDeps;
  config: Config;
  /** The database the subscriber list, suppressions, secret and archive are in. */
  db: Store;
  store: SubscriberStore;
  tokens: Tokens;
  subscribeLimiter: SlidingWindowLimiter;
  /** The per-client bound of counted clicks and opens (a flood from one address counts a handful). */
  trackingLimiter: SlidingWindowLimiter;
  /** The content directory, loaded once per change. */
  content: ContentCache;
  /** Pages rendered from the content, kept until it (or the hour shown in them) changes. */
  pages: PageCache;
  clock: () => Date;
  log: (line: string) => void;
  /** Runs work after the reply (so timing tells nothing), keeping track of it for shutdown. */
  background: (work: Promise<unknown>) => void;
  /** Resolves when no background work is left. */
  idle: () => Promise<void>;
}

/** The web server's operator line on stderr, one line whatever the text holds (a newline in an SNS Type is shown escaped), secrets masked. */
export function serverLog(line: string): void {
  process.stderr.write(`almanac serve: ${oneLine(redact(line))}\n`);
}

/** Builds the App from the deps (reads, or creates once, the signing secret in the store). */
export async function createApp(deps: WebDeps): Promise<App> {
  const clock = deps.clock ?? (() => new Date());
  const sink = deps.log ?? serverLog;
  const log = (line: string) => sink(oneLine(redact(line)));
  const pending = new Set<Promise<unknown>>();
  const rate = deps.subscribeRateLimit ?? { limit: 5, windowMs: 10 * 60_000 };
  const trackingRate = deps.trackingRateLimit ?? { limit: CLIENT_EVENTS, windowMs: CLIENT_WINDOW_MS };
  return {
    deps,
    config: deps.config,
    db: deps.store,
    store: new SubscriberStore(deps.store, clock),
    tokens: new Tokens(await loadSecret(deps.store, deps.config), clock),
    subscribeLimiter: new SlidingWindowLimiter(rate.limit, rate.windowMs, clock),
    trackingLimiter: new SlidingWindowLimiter(trackingRate.limit, trackingRate.windowMs, deps.tracking?.clock ?? clock),
    content: new ContentCache(deps.contentDir),
    pages: new PageCache(),
    clock,
    log,
    background(work) {
      const tracked = work.catch((error: unknown) => log(`background task failed: ${(error as Error).message}`)).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

/** One routed request. */
export interface RouteRequest {
  req: IncomingMessage;
  method: string;
  url: URL;
  /** Decoded path parameters from the route pattern. */
  params: string[];
  ip: string;
  /** Reads and parses the body (once). */
  body: () => Promise<ParsedBody>;
}

export type Handler = (r: RouteRequest, app: App) => Promise<Reply> | Reply;

/** A URL pattern (path parameters are one segment each) and its handler per method. */
export interface Route {
  pattern: RegExp;
  methods: Partial<Record<'GET' | 'POST', Handler>>;
}
