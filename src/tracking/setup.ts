import type { Config } from '../config.ts';
import type { Edition } from '../editions/compose.ts';
import type { RecipientLinks, RenderedEdition } from '../render/types.ts';
import { editionLinks, saveEditionLinks } from '../store/engagement.ts';
import type { Store } from '../store/handle.ts';
import { loadSecret } from '../store/secret.ts';
import type { TrackingDeps } from './handler.ts';
import { EngagementRecorder, type RecorderOptions } from './recorder.ts';
import { rewriteEdition } from './rewrite.ts';
import { TrackingTokens } from './token.ts';

// The few calls the doors make: the send path (trackEdition, readerLinks) and the web server (createTrackingDeps).

/** The tracking tokens of this site (the same secret as every other token). */
export async function trackingTokens(store: Store, config: Pick<Config, 'secret'>): Promise<TrackingTokens> {
  return new TrackingTokens(await loadSecret(store, config));
}

/**
 * The rendered edition as it is sent: unchanged with ALMANAC_TRACKING=off; with clicks, its story
 * and guide links rewritten once (and the edition's link list saved, so the redirect knows the only
 * URLs it may lead to). Call after renderEdition, before the pre-send checks and sending.
 */
export async function trackEdition(store: Store, config: Pick<Config, 'tracking' | 'baseUrl' | 'secret'>, edition: Edition, rendered: RenderedEdition): Promise<RenderedEdition> {
  if (!config.tracking.clicks) return rendered;
  const tokens = await trackingTokens(store, config);
  const known = await editionLinks(store, edition.id);
  const tracked = rewriteEdition(rendered, edition, { baseUrl: config.baseUrl, tokens, opens: config.tracking.opens, personal: config.tracking.personal, known });
  await saveEditionLinks(store, edition.id, tracked.links);
  return tracked.rendered;
}

/** The per-copy value of personal tracking, to spread into a recipient's links (nothing when not personal). */
export function readerLinks(tokens: TrackingTokens, config: Pick<Config, 'tracking'>, editionId: string, subscriberId: number): Pick<RecipientLinks, 'trackingReader'> {
  return config.tracking.clicks && config.tracking.personal ? { trackingReader: tokens.reader(editionId, subscriberId) } : {};
}

/** What the web server's /r/ endpoint needs; close the recorder when the server stops (it writes what is held). */
export async function createTrackingDeps(store: Store, config: Pick<Config, 'tracking' | 'secret'>, options: RecorderOptions = {}): Promise<TrackingDeps> {
  return { store, tokens: await trackingTokens(store, config), recorder: new EngagementRecorder(store, options), tracking: config.tracking, clock: options.clock };
}

/** What the send path needs from tracking: the edition as sent and each copy's extra link values. */
export interface PreparedTracking {
  /** Unchanged with ALMANAC_TRACKING=off. */
  rendered: RenderedEdition;
  /** Spread into a recipient's links: `{ ...recipientLinks(…), ...tracking.links(subscriberId) }` (empty unless personal). */
  links(subscriberId: number): Pick<RecipientLinks, 'trackingReader'>;
}

/**
 * The send path's one call (after renderEdition, before the pre-send checks): rewrites and saves the
 * edition's links when tracking is on (trackEdition) and gives the per-copy reader value.
 */
export async function prepareTracking(store: Store, config: Pick<Config, 'tracking' | 'baseUrl' | 'secret'>, edition: Edition, rendered: RenderedEdition): Promise<PreparedTracking> {
  if (!config.tracking.clicks) return { rendered, links: () => ({}) };
  const tokens = await trackingTokens(store, config);
  return { rendered: await trackEdition(store, config, edition, rendered), links: (id) => readerLinks(tokens, config, edition.id, id) };
}
