import { createHmac } from 'node:crypto';
import type { Config, Kind } from '../config.ts';
import type { RecipientLinks } from './types.ts';

/** The made-up subscriber previews are addressed to. */
export const SAMPLE_RECIPIENT = { id: 0, email: 'reader@example.com' } as const;

/** Real-looking but inert links for the sample subscriber (id 0 exists in no database, so they never act). */
export function sampleLinks(config: Pick<Config, 'baseUrl' | 'secret'>, kind: Kind): RecipientLinks {
  const sign = (what: string) =>
    createHmac('sha256', config.secret ?? 'preview').update(`preview:${what}:${SAMPLE_RECIPIENT.id}`).digest('base64url').slice(0, 32);
  return {
    unsubscribeUrl: `${config.baseUrl}/unsubscribe/${sign(`unsubscribe:${kind}`)}`,
    preferencesUrl: `${config.baseUrl}/preferences/${sign('preferences')}`,
  };
}
