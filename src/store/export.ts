import { csvLine } from '../subscribers/csv.ts';
import { normaliseEmail } from '../subscribers/email.ts';
import { EXPORT_COLUMNS, type ExportFormat, type SubscriberExport } from '../subscribers/export.ts';
import type { SubscriberStore } from './subscribers.ts';
import { editionsOf } from './types.ts';

export { EXPORT_COLUMNS, type ExportFormat, type SubscriberExport };

/** Every subscriber (or only `email`) joined with their delivery history, in id order, read a page at a time. */
export async function* subscriberExports(store: SubscriberStore, email?: string): AsyncGenerator<SubscriberExport> {
  const only = email === undefined ? undefined : normaliseEmail(email);
  // Both sequences are in subscriber-id order: a merge join keeps one subscriber's rows in memory at a time.
  const history = store.deliveryHistory();
  let next = await history.next();
  const events = store.engagementHistory();
  let event = await events.next();
  try {
    for await (const s of store.all()) {
      const deliveries: SubscriberExport['deliveries'] = [];
      while (!next.done && next.value.subscriberId < s.id) next = await history.next();
      while (!next.done && next.value.subscriberId === s.id) {
        const { subscriberId: _, ...d } = next.value;
        deliveries.push(d);
        next = await history.next();
      }
      const engagement: NonNullable<SubscriberExport['engagement']> = [];
      while (!event.done && event.value.subscriberId < s.id) event = await events.next();
      while (!event.done && event.value.subscriberId === s.id) {
        const { subscriberId: _, ...e } = event.value;
        engagement.push(e);
        event = await events.next();
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
        suppressionLifted: s.suppressionLifted,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
        deliveries,
        ...(engagement.length > 0 ? { engagement } : {}),
      };
    }
  } finally {
    await history.return(undefined);
    await events.return(undefined);
  }
}

/** Writes the export as CSV (one line per subscriber, deliveries as `edition state updated_at` joined by `;`) or JSON; returns the count. */
export async function writeExport(store: SubscriberStore, format: ExportFormat, write: (chunk: string) => void, email?: string): Promise<number> {
  let n = 0;
  if (format === 'csv') write(csvLine([...EXPORT_COLUMNS]));
  else write(`{"exportedAt":${JSON.stringify(new Date().toISOString())},"subscribers":[`);
  for await (const s of subscriberExports(store, email)) {
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
          s.suppressionLifted?.at,
          s.suppressionLifted?.by,
          s.suppressionLifted?.from,
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
