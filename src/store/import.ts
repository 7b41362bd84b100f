import { hashEmail, isValidEmail, normaliseEmail } from '../subscribers/email.ts';
import { lockRows, retryOnUniqueViolation, transaction } from './dialect.ts';
import type { Store } from './handle.ts';
import { SubscriberError, type SubscriberInput } from './types.ts';

/** What importing one row did (as SubscriberStore.importOne). */
export type ImportOutcome = 'added' | 'present' | 'suppressed';

/** The settings row ids are allocated from: the same key as SubscriberStore's inserts, so both take turns on it. */
const SETTING_LAST_ID = 'subscribers.last_id';
/** Rows per transaction: each is a few statements in all, not a few statements per row (PostgreSQL pays a round trip for each). */
const IMPORT_CHUNK = 500;

/**
 * Imports many rows with the outcome of SubscriberStore.importOne for each, in order: a new address is added as
 * active with consent source 'import'; an address already held is left exactly as it is; a suppressed one (erased,
 * bounced, complained) is skipped. One transaction per chunk of rows, so an import interrupted half-way is finished
 * by running it again.
 */
export async function importMany(store: Store, inputs: readonly SubscriberInput[], clock: () => Date = () => new Date()): Promise<ImportOutcome[]> {
  const outcomes: ImportOutcome[] = [];
  for (let i = 0; i < inputs.length; i += IMPORT_CHUNK) outcomes.push(...(await importChunk(store, inputs.slice(i, i + IMPORT_CHUNK), clock)));
  return outcomes;
}

async function importChunk(store: Store, inputs: readonly SubscriberInput[], clock: () => Date): Promise<ImportOutcome[]> {
  const rows = inputs.map((input) => {
    const email = normaliseEmail(input.email);
    if (!isValidEmail(email)) throw new SubscriberError(`invalid email address ${JSON.stringify(input.email)}`);
    if (input.editions.length === 0) throw new SubscriberError(`no edition chosen for ${email}: expected midweek, sunday or both`);
    return { email, name: input.name?.trim() ? input.name.trim().slice(0, 200) : null, editions: input.editions };
  });
  const emails = [...new Set(rows.map((r) => r.email))];
  // A web server subscribing one of these addresses at the same moment on PostgreSQL makes the insert fail
  // on the unique email: the chunk is then run again and finds the address present.
  return retryOnUniqueViolation(() =>
    transaction(store, async (tx) => {
      const suppressed = new Set(
        (await tx.selectFrom('suppressions').select('email_hash').where('email_hash', 'in', emails.map(hashEmail)).execute()).map((r) => r.email_hash),
      );
      const held = new Map((await tx.selectFrom('subscribers').select(['email', 'status']).where('email', 'in', emails).execute()).map((r) => [r.email, r.status]));
      const adding = new Set<string>();
      const outcomes = rows.map((r): ImportOutcome => {
        const status = held.get(r.email);
        if (suppressed.has(hashEmail(r.email)) || status === 'bounced' || status === 'complained') return 'suppressed';
        if (status !== undefined || adding.has(r.email)) return 'present';
        adding.add(r.email);
        return 'added';
      });
      const added = rows.filter((_, i) => outcomes[i] === 'added');
      if (added.length === 0) return outcomes;
      // Ids as SubscriberStore allocates them: above every id ever used, with the settings row locked meanwhile.
      await tx.insertInto('settings').values({ key: SETTING_LAST_ID, value: '0' }).onConflict((oc) => oc.column('key').doNothing()).execute();
      const kept = await lockRows(store, tx.selectFrom('settings').select('value').where('key', '=', SETTING_LAST_ID)).executeTakeFirstOrThrow();
      const max = await tx
        .selectFrom('subscribers')
        .select((eb) => eb.fn.max<number | null>('id').as('m'))
        .executeTakeFirstOrThrow();
      const base = Math.max(Number(kept.value), Number(max.m ?? 0));
      await tx.updateTable('settings').set({ value: String(base + added.length) }).where('key', '=', SETTING_LAST_ID).execute();
      const now = clock().toISOString();
      await tx
        .insertInto('subscribers')
        .values(
          added.map((r, k) => ({
            id: base + k + 1,
            email: r.email,
            name: r.name,
            status: 'active' as const,
            midweek: r.editions.includes('midweek') ? 1 : 0,
            sunday: r.editions.includes('sunday') ? 1 : 0,
            consent_source: 'import',
            consent_ip: null,
            consent_wording: null,
            requested_at: now,
            confirmed_at: null,
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
      return outcomes;
    }),
  );
}
