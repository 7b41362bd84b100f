/**
 * Machines are not readers. A click or open counts as human only when nothing about it looks like a
 * machine; the first rule that matches names the reason, and the event is kept, classed 'machine'.
 */

/** A click within this long of the copy's delivery is a link scanner's (no person reads that fast). @default 10 s */
export const EARLY_MS = 10_000;
/** Clicks on this many different links of one edition within BURST_WINDOW_MS from one client are a scanner's. */
export const BURST_LINKS = 3;
export const BURST_WINDOW_MS = 2_000;

/**
 * User agents of link scanners, security gateways, prefetchers and HTTP libraries. A person clicks
 * in a browser; these fetch every link of a message to check it.
 */
const SCANNER_AGENTS =
  /bot\b|bot\/|crawl|spider|slurp|scan|preview|proofpoint|mimecast|barracuda|symantec|messagelabs|forcepoint|trend ?micro|fireeye|ironport|safelinks|msoffice|microsoft office|ms-office|skypeuripreview|headless|phantomjs|python|curl|wget|go-http-client|java\/|okhttp|libwww|httpclient|axios|node-fetch|undici|postman|^mozilla\/4\.0 \(compatible; ms ?ie 6\.0/i;

/** Image proxies of mail providers: they fetch the pixel when the reader opens the message, so the open is real but its client unknown. */
const IMAGE_PROXIES = /googleimageproxy|ggpht\.com|yahoomailproxy|outlook\.com|ymailproxy/i;

/** What is known about one request. */
export interface RequestFacts {
  method: string;
  userAgent: string | undefined;
  /** The client address, used here only (Apple's range) and never stored. */
  ip: string | undefined;
  /** The copy's delivery time, if known (see the README on what "delivery" means without personal tokens). */
  deliveredAt: Date | undefined;
  now: Date;
}

/** How an event is counted. */
export interface Verdict {
  class: 'human' | 'machine';
  /** Why: head, no-user-agent, scanner, early, honeypot, burst (set later), apple-privacy-protection, image-proxy; null for a plain human event. */
  reason: string | null;
}

const HUMAN: Verdict = { class: 'human', reason: null };

/** The verdict for a click on a link of kind `kind`. */
export function classifyClick(facts: RequestFacts, kind: string): Verdict {
  if (kind === 'honeypot') return { class: 'machine', reason: 'honeypot' };
  return common(facts) ?? (isEarly(facts) ? { class: 'machine', reason: 'early' } : HUMAN);
}

/**
 * The verdict for a fetch of the open pixel. Apple Mail Privacy Protection fetches every image of
 * every message when it arrives (from Apple's network, as a bare "Mozilla/5.0"), read or not: a
 * machine. Gmail's and Yahoo's proxies fetch when the reader opens it: human, labelled.
 */
export function classifyOpen(facts: RequestFacts): Verdict {
  const ua = facts.userAgent?.trim() ?? '';
  if (facts.method === 'HEAD') return { class: 'machine', reason: 'head' };
  if (ua === 'Mozilla/5.0' || isAppleNetwork(facts.ip)) return { class: 'machine', reason: 'apple-privacy-protection' };
  if (IMAGE_PROXIES.test(ua)) return { class: 'human', reason: 'image-proxy' };
  return common(facts) ?? (isEarly(facts) ? { class: 'machine', reason: 'early' } : HUMAN);
}

function common(facts: RequestFacts): Verdict | undefined {
  if (facts.method === 'HEAD') return { class: 'machine', reason: 'head' };
  const ua = facts.userAgent?.trim() ?? '';
  if (ua === '') return { class: 'machine', reason: 'no-user-agent' };
  if (SCANNER_AGENTS.test(ua)) return { class: 'machine', reason: 'scanner' };
  return undefined;
}

function isEarly(facts: RequestFacts): boolean {
  if (!facts.deliveredAt) return false;
  const since = facts.now.getTime() - facts.deliveredAt.getTime();
  return since >= -1_000 && since < EARLY_MS;
}

/** Apple's 17.0.0.0/8 (Mail Privacy Protection's fetches come from Apple-operated relays). */
function isAppleNetwork(ip: string | undefined): boolean {
  return ip !== undefined && /^(::ffff:)?17\./.test(ip);
}
