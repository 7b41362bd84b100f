import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrackingConfig } from '../config.ts';
import type { Store } from '../store/handle.ts';
import { editionLinks, lastDeliveredAt, type TrackedLink } from '../store/engagement.ts';
import { classifyClick, classifyOpen, type RequestFacts } from './classify.ts';
import type { EngagementRecorder } from './recorder.ts';
import type { TrackingTokens } from './token.ts';

/** What the /r/ endpoint needs; the web server builds it once (see createTrackingDeps). */
export interface TrackingDeps {
  store: Store;
  tokens: TrackingTokens;
  recorder: EngagementRecorder;
  /** What is recorded now. Redirects always work (links in copies already sent must keep working), even with tracking off. */
  tracking: TrackingConfig;
  /** The client address as the server resolves it (proxy-aware); used for classification only, never stored. */
  clientIp?: (req: IncomingMessage) => string | undefined;
  /**
   * Whether one more event of this client may be counted: the web server's per-client bound
   * (CLIENT_EVENTS in CLIENT_WINDOW_MS per address, or per reader with personal tracking). Asked only
   * for an event that is not a repeat. @default always
   */
  admit?: (client: { ip: string | undefined; reader: number | undefined }) => boolean;
  /** @default () => new Date() */
  clock?: () => Date;
}

/** A 1×1 transparent GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const PATH = /^\/r\/([^/?#]+)$/;
/** Link lists change only when an edition is rendered again; delivery times every second or so. */
const LINKS_TTL_MS = 60_000;
const DELIVERED_TTL_MS = 1_000;

// Per TrackingDeps (one per server), so two servers never share what they read.
const linkCache = new WeakMap<TrackingDeps, Map<string, { at: number; links: Map<number, TrackedLink> }>>();
const deliveredCache = new WeakMap<TrackingDeps, Map<string, { at: number; value: Date | undefined }>>();

async function linksOf(deps: TrackingDeps, editionId: string, now: number): Promise<Map<number, TrackedLink>> {
  let cache = linkCache.get(deps);
  if (!cache) linkCache.set(deps, (cache = new Map()));
  const hit = cache.get(editionId);
  if (hit && now - hit.at < LINKS_TTL_MS) return hit.links;
  const links = new Map((await editionLinks(deps.store, editionId)).map((l) => [l.link, l]));
  if (cache.size > 200) cache.clear();
  cache.set(editionId, { at: now, links });
  return links;
}

/** The copy's delivery time (see deliveredAtOf), or unknown when the database does not answer: the redirect still works. */
async function deliveredAt(deps: TrackingDeps, editionId: string, subscriberId: number | undefined, now: number): Promise<Date | undefined> {
  try {
    return await deliveredAtOf(deps, editionId, subscriberId, now);
  } catch {
    return undefined;
  }
}

/** The copy's delivery time with a personal token; else the edition's latest delivery (cached a second). */
async function deliveredAtOf(deps: TrackingDeps, editionId: string, subscriberId: number | undefined, now: number): Promise<Date | undefined> {
  if (subscriberId !== undefined) {
    const at = await lastDeliveredAt(deps.store, editionId, subscriberId);
    return at ? new Date(at) : undefined;
  }
  let cache = deliveredCache.get(deps);
  if (!cache) deliveredCache.set(deps, (cache = new Map()));
  const hit = cache.get(editionId);
  if (hit && now - hit.at < DELIVERED_TTL_MS) return hit.value;
  const at = await lastDeliveredAt(deps.store, editionId);
  const value = at ? new Date(at) : undefined;
  if (cache.size > 200) cache.clear();
  cache.set(editionId, { at: now, value });
  return value;
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end('There is no link here.\n');
}

/**
 * GET/HEAD `/r/<token>`: a tracked link (302 to the edition's own URL that the token names) or the
 * open pixel (a 1×1 GIF). A tampered or foreign token, or a link the edition does not have, is a 404:
 * never an open redirect. Records the event (batched) when tracking is on. Returns false for any
 * other path, so the server goes on routing.
 */
export async function handleTracking(req: IncomingMessage, res: ServerResponse, deps: TrackingDeps): Promise<boolean> {
  const path = (req.url ?? '').split('?')[0]!;
  const m = PATH.exec(path);
  if (!m) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${req.method} is not allowed here: use GET, HEAD.\n`);
    return true;
  }
  const target = deps.tokens.verify(m[1]!);
  if (!target) return (notFound(res), true);
  const now = (deps.clock ?? (() => new Date()))();
  const link = target.pixel ? undefined : (await linksOf(deps, target.editionId, now.getTime())).get(target.link);
  if (!target.pixel && !link) return (notFound(res), true);

  const record = target.pixel ? deps.tracking.opens : deps.tracking.clicks;
  if (record) {
    // A subscriber id is kept only while personal tracking is on (a token from an earlier personal edition is counted anonymously).
    const subscriberId = deps.tracking.personal ? target.subscriberId : undefined;
    const userAgent = req.headers['user-agent'];
    const ip = deps.clientIp?.(req) ?? req.socket.remoteAddress;
    const facts: RequestFacts = { method: req.method, userAgent, ip, deliveredAt: await deliveredAt(deps, target.editionId, subscriberId, now.getTime()), now };
    const verdict = target.pixel ? classifyOpen(facts) : classifyClick(facts, link!.kind);
    // A repeat of the same link by the same client within minutes, or past the client's bound, is not counted again.
    deps.recorder.record(
      {
        edition_id: target.editionId,
        link: target.link,
        type: target.pixel ? 'open' : 'click',
        class: verdict.class,
        reason: verdict.reason,
        subscriber_id: subscriberId ?? null,
        at: now.toISOString(),
      },
      deps.recorder.clientKey(subscriberId !== undefined ? ['reader', subscriberId] : [ip, userAgent]),
      () => deps.admit?.({ ip, reader: subscriberId }) ?? true,
    );
  }

  const headers = { 'Cache-Control': 'no-store, private', 'Referrer-Policy': 'no-referrer', 'X-Robots-Tag': 'noindex' };
  if (target.pixel) {
    res.writeHead(200, { ...headers, 'Content-Type': 'image/gif', 'Content-Length': PIXEL.length });
    res.end(req.method === 'HEAD' ? undefined : PIXEL);
  } else {
    res.writeHead(302, { ...headers, Location: link!.url, 'Content-Length': 0 });
    res.end();
  }
  return true;
}
