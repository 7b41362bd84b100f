import type { Selectable } from 'kysely';
import type { DeliveriesTable } from './schema.ts';
import type { Delivery } from './types.ts';

/** A `deliveries` row as the rest of the program sees it (with its late bounce or complaint, if any). */
export function deliveryFromRow(r: Selectable<DeliveriesTable>): Delivery {
  return {
    editionId: r.edition_id,
    subscriberId: r.subscriber_id,
    email: r.email,
    state: r.state,
    attempts: r.attempts,
    lastReply: r.last_reply,
    messageId: r.message_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.late_at ? { late: { status: r.late_status, diagnostic: r.late_diagnostic, source: r.late_source, arrivedAt: r.late_at } } : {}),
  };
}
