import type { Kind } from '../config.ts';
import { transaction } from './dialect.ts';
import type { Store } from './handle.ts';
import { SubscriberStore } from './subscribers.ts';
import { isLiftable, liftSuppressionIn, suppressionReasonIn } from './suppression.ts';
import type { Subscriber } from './types.ts';

/**
 * What a confirmation link did: `confirmed` (pending → active now), `already` (active before),
 * `replaced` (still pending, but for other editions than the link was sent for: nothing changed),
 * or `invalid` (no such subscriber, or neither pending nor active).
 */
export type ConfirmOutcome =
  | { result: 'confirmed' | 'already' | 'replaced'; subscriber: Subscriber }
  | { result: 'invalid'; subscriber: undefined };

/**
 * Double opt-in for the request that asked for `editions`: one conditional UPDATE that activates
 * the subscriber only while they are pending for exactly those editions. The check and the change
 * are one statement, so a form submission changing the request on another web server (PostgreSQL
 * re-evaluates the WHERE on the row it waited for) can never be confirmed by an older link. In the
 * same transaction, a bounce or complaint suppression left from before the request is lifted: the
 * confirmation mail reached them (store/suppression.ts records when).
 */
export async function confirmRequest(store: Store, id: number, editions: readonly Kind[], clock: () => Date = () => new Date()): Promise<ConfirmOutcome> {
  const now = clock().toISOString();
  const confirmed = await transaction(store, async (tx) => {
    const row = await tx
      .updateTable('subscribers')
      .set({ status: 'active', confirmed_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('midweek', '=', editions.includes('midweek') ? 1 : 0)
      .where('sunday', '=', editions.includes('sunday') ? 1 : 0)
      .returning('email')
      .executeTakeFirst();
    if (!row) return false;
    const reason = await suppressionReasonIn(tx, row.email);
    if (isLiftable(reason)) await liftSuppressionIn(tx, { id, email: row.email }, { at: now, by: 'confirmation', from: reason }, 'active');
    return true;
  });
  const subscriber = await new SubscriberStore(store, clock).get(id);
  if (!subscriber) return { result: 'invalid', subscriber: undefined };
  if (confirmed) return { result: 'confirmed', subscriber };
  if (subscriber.status === 'pending') return { result: 'replaced', subscriber };
  if (subscriber.status === 'active') return { result: 'already', subscriber };
  return { result: 'invalid', subscriber: undefined };
}
