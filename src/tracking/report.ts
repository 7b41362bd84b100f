import { deliveriesPerMinute, editionLinks, engagementCounts, uniqueReaders } from '../store/engagement.ts';
import type { Store } from '../store/handle.ts';

/** Engagement with one link of an edition. */
export interface LinkEngagement {
  link: number;
  url: string;
  kind: 'news' | 'guide';
  label: string;
  /** Clicks that behaved like a person's. */
  humanClicks: number;
  /** Different readers among the human clicks (personal tracking only, else null). */
  uniqueReaders: number | null;
  /** Clicks classed as machine (scanners, prefetchers, bursts…), kept apart. */
  machineClicks: number;
}

/** What `report <id>` shows about engagement. */
export interface EngagementReport {
  editionId: string;
  /** False: the edition was sent with ALMANAC_TRACKING=off (no tracked links); nothing below means anything. */
  tracked: boolean;
  /** Events carry subscriber ids (ALMANAC_TRACKING_PERSONAL=true when they were recorded). */
  personal: boolean;
  links: LinkEngagement[];
  clicks: { human: number; machine: number; uniqueReaders: number | null; machineByReason: Record<string, number> };
  /** Opens from the pixel: an estimate (images blocked = not counted; privacy proxies = not a read). */
  opens: { estimate: true; human: number; viaImageProxy: number; machine: number; machineByReason: Record<string, number>; uniqueReaders: number | null };
}

/** The engagement figures of an edition from the store. */
export async function engagementReport(store: Store, editionId: string): Promise<EngagementReport> {
  const [links, counts] = await Promise.all([editionLinks(store, editionId), engagementCounts(store, editionId)]);
  const personal = counts.some((c) => c.readers > 0);
  const clicks = { human: 0, machine: 0, uniqueReaders: null as number | null, machineByReason: {} as Record<string, number> };
  const opens = { estimate: true as const, human: 0, viaImageProxy: 0, machine: 0, machineByReason: {} as Record<string, number>, uniqueReaders: null as number | null };
  const perLink = new Map<number, { human: number; machine: number; readers: number }>();
  for (const c of counts) {
    const bucket = c.type === 'click' ? clicks : opens;
    if (c.class === 'machine') {
      bucket.machine += c.events;
      bucket.machineByReason[c.reason ?? 'other'] = (bucket.machineByReason[c.reason ?? 'other'] ?? 0) + c.events;
    } else {
      bucket.human += c.events;
      if (c.type === 'open' && c.reason === 'image-proxy') opens.viaImageProxy += c.events;
    }
    if (c.type === 'click') {
      const l = perLink.get(c.link) ?? { human: 0, machine: 0, readers: 0 };
      if (c.class === 'human') {
        l.human += c.events;
        l.readers += c.readers; // human rows of one link differ only by reason (null): one row, so this is exact
      } else l.machine += c.events;
      perLink.set(c.link, l);
    }
  }
  if (personal) {
    clicks.uniqueReaders = await uniqueReaders(store, editionId, 'click');
    opens.uniqueReaders = await uniqueReaders(store, editionId, 'open');
  }
  return {
    editionId,
    tracked: links.length > 0,
    personal,
    links: links
      .filter((l): l is typeof l & { kind: 'news' | 'guide' } => l.kind !== 'honeypot')
      .map((l) => {
        const n = perLink.get(l.link) ?? { human: 0, machine: 0, readers: 0 };
        return { link: l.link, url: l.url, kind: l.kind, label: l.label, humanClicks: n.human, uniqueReaders: personal ? n.readers : null, machineClicks: n.machine };
      }),
    clicks,
    opens,
  };
}

/** Copies per minute from the ledger (the delivery timeline of the HTML report). */
export async function deliveryTimeline(store: Store, editionId: string): Promise<{ minute: string; copies: number }[]> {
  return deliveriesPerMinute(store, editionId);
}

function reasons(byReason: Record<string, number>): string {
  const parts = Object.entries(byReason).map(([r, n]) => `${r} ${n}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** The engagement section of `report <id>` as text lines. */
export function formatEngagement(report: EngagementReport): string {
  if (!report.tracked) return 'engagement: not tracked (sent with ALMANAC_TRACKING=off)\n';
  const out = ['', `engagement (human clicks per link${report.personal ? ', unique readers' : ''}; machine clicks kept apart):`];
  const width = Math.max(...report.links.map((l) => String(l.humanClicks).length), 1);
  for (const l of report.links) {
    const readers = l.uniqueReaders === null ? '' : ` · ${l.uniqueReaders} reader${l.uniqueReaders === 1 ? '' : 's'}`;
    out.push(`  ${String(l.humanClicks).padStart(width)}  ${l.kind === 'guide' ? 'guide' : 'story'}  ${l.label}${readers}${l.machineClicks ? ` · ${l.machineClicks} machine` : ''}`);
  }
  out.push(`  human clicks: ${report.clicks.human}${report.clicks.uniqueReaders === null ? '' : ` by ${report.clicks.uniqueReaders} reader${report.clicks.uniqueReaders === 1 ? '' : 's'}`}`);
  out.push(`  machine clicks (not counted above): ${report.clicks.machine}${reasons(report.clicks.machineByReason)}`);
  const o = report.opens;
  if (o.human + o.machine > 0) {
    out.push(
      `  opens (an estimate: readers who block images are not counted): ${o.human}${o.viaImageProxy ? `, ${o.viaImageProxy} of them through a mail provider's image proxy` : ''}; machine or privacy-proxy fetches (not counted): ${o.machine}${reasons(o.machineByReason)}`,
    );
  }
  return `${out.join('\n')}\n`;
}
