import type { Store } from '../src/store/handle.ts';

/** `[id, kind, number, sendAt, subject, preheader, html, status]` of an `editions` row. */
export type EditionFixture = [string, string, number, string, string, string, string | null, 'sent' | 'sending'];

/** Writes `editions` rows as a send would have left them (the archive and the feed read these). */
export async function insertEditions(store: Store, rows: EditionFixture[]): Promise<void> {
  await store.db
    .insertInto('editions')
    .values(
      rows.map(([id, kind, number, sendAt, subject, preheader, html, status]) => ({
        id,
        kind,
        number,
        send_at: sendAt,
        subject,
        preheader,
        html,
        text: html === null ? null : 'text',
        status,
        started_at: sendAt,
      })),
    )
    .execute();
}
