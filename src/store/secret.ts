import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Store } from './handle.ts';

const SETTING_SECRET = 'token_secret';

/**
 * The signing secret: config.secret (ALMANAC_SECRET), else one generated once and kept in the
 * settings table. Several processes starting together (on one host or several) each propose a
 * random secret with `ON CONFLICT DO NOTHING`; the primary key lets exactly one insert win, and
 * every process then reads the winner's.
 */
export async function loadSecret(store: Store, config: Pick<Config, 'secret'>): Promise<string> {
  if (config.secret) return config.secret;
  await store.db
    .insertInto('settings')
    .values({ key: SETTING_SECRET, value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await store.db.selectFrom('settings').select('value').where('key', '=', SETTING_SECRET).executeTakeFirstOrThrow();
  return row.value;
}
