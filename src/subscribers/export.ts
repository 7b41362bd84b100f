import { csvLine } from './csv.ts';
import { normaliseEmail } from './email.ts';
import { editionsOf, type DeliveryRecord, type Subscriber, type SubscriberStore } from './store.ts';

export type ExportFormat = 'csv' | 'json';

/** One subscriber with everything we hold about them (GDPR access request). */
export interface SubscriberExport {
  id: number;
  email: string;
  name: string | null;
  status: Subscriber['status'];
  editions: string[];
  consent: Subscriber['consent'];
  softBounces: number;
  lastReply: string | null;
  createdAt: string;
  updatedAt: string;
  deliveries: Omit<DeliveryRecord, 'subscriberId'>[];
  /** Personal click/open events (only recorded with ALMANAC_TRACKING_PERSONAL=true); absent when there are none. */
  engagement?: { editionId: string; type: 'click' | 'open'; url: string | null; class: 'human' | 'machine'; reason: string | null; at: string }[];
}

/** CSV columns of the export; the first three are the import header. */
export const EXPORT_COLUMNS = [
  'email',
  'name',
  'editions',
  'status',
  'consent_source',
  'consent_ip',
  'consent_wording',
  'requested_at',
  'confirmed_at',
  'created_at',
  'updated_at',
  'soft_bounces',
  'last_reply',
  'deliveries',
] as const;

/** Every subscriber (or only `email`) joined with their delivery history, in id order, read lazily. */
export function* subscriberExports(store: SubscriberStore, email?: string): Generator<SubscriberExport> {
  const only = email === undefined ? undefined : normaliseEmail(email);
  // Both sequences are in subscriber-id order: a merge join keeps one subscriber's rows in memory at a time.
  const history = store.deliveryHistory();
  let next = history.next();
  for (const s of store.all()) {
    const deliveries: SubscriberExport['deliveries'] = [];
    while (!next.done && next.value.subscriberId < s.id) next = history.next();
    while (!next.done && next.value.subscriberId === s.id) {
      const { subscriberId: _, ...d } = next.value;
      deliveries.push(d);
      next = history.next();
    }
    if (only !== undefined && s.email !== only) continue;
    yield {
      id: s.id,
      email: s.email,
      name: s.name,
      status: s.status,
      editions: editionsOf(s),
      consent: s.consent,
      softBounces: s.softBounces,
      lastReply: s.lastReply,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      deliveries,
    };
  }
  history.return(undefined);
}

/** Writes the export as CSV (one line per subscriber, deliveries as `edition state updated_at` joined by `;`) or JSON. */
export function writeExport(store: SubscriberStore, format: ExportFormat, write: (chunk: string) => void, email?: string): number {
  let n = 0;
  if (format === 'csv') write(csvLine([...EXPORT_COLUMNS]));
  else write(`{"exportedAt":${JSON.stringify(new Date().toISOString())},"subscribers":[`);
  for (const s of subscriberExports(store, email)) {
    if (format === 'csv') {
      write(
        csvLine([
          s.email,
          s.name,
          s.editions.join(';'),
          s.status,
          s.consent.source,
          s.consent.ip,
          s.consent.wording,
          s.consent.requestedAt,
          s.consent.confirmedAt,
          s.createdAt,
          s.updatedAt,
          s.softBounces,
          s.lastReply,
          s.deliveries.map((d) => `${d.editionId} ${d.state} ${d.updatedAt}`).join(';'),
        ]),
      );
    } else {
      write(`${n === 0 ? '\n' : ',\n'}${JSON.stringify(s)}`);
    }
    n++;
  }
  if (format === 'json') write('\n]}\n');
  return n;
}
