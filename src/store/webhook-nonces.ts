import type { Store } from './handle.ts';

// The replay cache of signed webhooks. In the database, not in memory: every web host on one
// database shares it, and a restart does not forget what was accepted.

/**
 * Records a webhook's one-time value until `expiresAt`; false when it is already recorded (a replay).
 * Entries past their expiry are pruned first. Two hosts claiming the same value at once: the primary
 * key lets one insert win, the other sees false.
 */
export async function claimNonce(store: Store, provider: string, nonce: string, expiresAt: Date, now: Date): Promise<boolean> {
  await store.db.deleteFrom('webhook_nonces').where('expires_at', '<', now.toISOString()).execute();
  const result = await store.db
    .insertInto('webhook_nonces')
    .values({ provider, nonce, expires_at: expiresAt.toISOString() })
    .onConflict((oc) => oc.columns(['provider', 'nonce']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Forgets a claimed value (its request could not be applied, so the provider's retry must be accepted). */
export async function releaseNonce(store: Store, provider: string, nonce: string): Promise<void> {
  await store.db.deleteFrom('webhook_nonces').where('provider', '=', provider).where('nonce', '=', nonce).execute();
}
