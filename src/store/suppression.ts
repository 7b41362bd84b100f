import { hashEmail } from '../subscribers/email.ts';
import type { Tx } from './handle.ts';
import type { SubscriberStatus, SuppressionLift } from './types.ts';

// Lifting a bounce or complaint suppression. Two ways lift one: the subscriber confirms a new
// request through the form (the confirmation mail reached them), or the operator runs
// `subscribers unsuppress EMAIL`. An erasure is never lifted: its hash stays in suppressions forever.

/** The suppression reasons that can be lifted; 'erased' is never among them. */
export const LIFTABLE: readonly SuppressionLift['from'][] = ['bounced', 'complained'];

/** Why the address is on the suppression list ('bounced', 'complained', 'erased'), or undefined. */
export async function suppressionReasonIn(tx: Tx, normalEmail: string): Promise<string | undefined> {
  const row = await tx.selectFrom('suppressions').select('reason').where('email_hash', '=', hashEmail(normalEmail)).executeTakeFirst();
  return row?.reason;
}

/** The suppression reason of each address among `emails` (normalised) that is on the list. */
export async function suppressionReasonsAmong(tx: Tx, emails: readonly string[]): Promise<Map<string, string>> {
  if (emails.length === 0) return new Map();
  const byHash = new Map(emails.map((e) => [hashEmail(e), e]));
  const rows = await tx.selectFrom('suppressions').select(['email_hash', 'reason']).where('email_hash', 'in', [...byHash.keys()]).execute();
  return new Map(rows.map((r) => [byHash.get(r.email_hash)!, r.reason]));
}

/** True for a suppression reason or subscriber status that is a bounce or complaint (what can be lifted). */
export function isLiftable(reason: string | undefined): reason is SuppressionLift['from'] {
  return (LIFTABLE as readonly (string | undefined)[]).includes(reason);
}

/**
 * Lifts a subscriber's bounce or complaint suppression inside the caller's transaction (the caller
 * holds the row locked): removes the address hash from suppressions unless it is an erasure's,
 * moves the subscriber to `status`, starts a new run of soft bounces, and records the lift.
 */
export async function liftSuppressionIn(
  tx: Tx,
  subscriber: { id: number; email: string },
  lift: SuppressionLift,
  status: SubscriberStatus,
  extra: { confirmed_at?: string } = {},
): Promise<void> {
  await tx
    .deleteFrom('suppressions')
    .where('email_hash', '=', hashEmail(subscriber.email))
    .where('reason', 'in', [...LIFTABLE])
    .execute();
  await tx
    .updateTable('subscribers')
    .set({
      ...extra,
      status,
      soft_bounces: 0,
      suppression_lifted_at: lift.at,
      suppression_lifted_by: lift.by,
      suppression_lifted_from: lift.from,
      updated_at: lift.at,
    })
    .where('id', '=', subscriber.id)
    .execute();
}
