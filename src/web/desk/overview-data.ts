import { KINDS } from '../../config.ts';
import { latestEdition, nextEdition, type EditionSlot } from '../../editions/calendar.ts';
import { compose } from '../../editions/compose.ts';
import { editionStatuses } from '../../store/desk-queries.ts';
import { editionReport, sentEditions, type ArchivedEdition } from '../../store/editions.ts';
import { engagementReport } from '../../tracking/report.ts';
import type { App } from '../app.ts';
import { currentContent } from '../routes/guides.ts';

/** A coming edition on the overview. */
export interface ComingEdition {
  slot: EditionSlot;
  /** 'draft' until a send starts; then the `editions` row's status ('sending', 'failed', …). */
  state: string;
  /** Items the edition has now (compose); undefined when the content is invalid. */
  news: number | undefined;
}

/** A sent edition's outcome on the overview. */
export interface SentOutcome {
  edition: ArchivedEdition;
  delivered: number;
  failed: number;
  inDoubt: number;
  bounced: number;
  complained: number;
  /** Human clicks (ALMANAC_TRACKING); undefined when the edition went out untracked. */
  humanClicks: number | undefined;
}

/**
 * The next edition of each kind, and the latest one while its send is unfinished (sending or failed),
 * in send order, with the news each holds now.
 */
export async function comingEditions(app: App, now: Date): Promise<ComingEdition[]> {
  const slots = KINDS.flatMap((kind) => [latestEdition(kind, now, app.config), nextEdition(kind, now, app.config)]);
  const [statuses, snapshot] = await Promise.all([editionStatuses(app.db, slots.map((s) => s.id)), currentContent(app)]);
  return slots
    .filter((s) => s.sendAt > now || ['sending', 'failed'].includes(statuses.get(s.id) ?? ''))
    .sort((a, b) => a.sendAt.getTime() - b.sendAt.getTime())
    .map((slot) => ({ slot, state: statuses.get(slot.id) ?? 'draft', news: snapshot && compose(snapshot.content, slot).news.length }));
}

/** The last `limit` sent editions with what their copies came to. */
export async function lastSent(app: App, limit = 5): Promise<SentOutcome[]> {
  const editions = await sentEditions(app.db, limit);
  return Promise.all(
    editions.map(async (edition) => {
      const [report, engagement] = await Promise.all([editionReport(app.db, edition.id), engagementReport(app.db, edition.id)]);
      const c = report!.counts;
      return {
        edition,
        delivered: c.sent,
        failed: c.failed + c.deferred,
        inDoubt: c.in_doubt,
        bounced: c.bounced + c.soft_bounced,
        complained: c.complained,
        humanClicks: engagement.tracked ? engagement.clicks.human : undefined,
      };
    }),
  );
}
