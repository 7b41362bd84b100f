import type { Config, Kind } from '../config.ts';
import { sendTestCopy } from '../delivery/test-copy.ts';
import type { SendResult, Transport } from '../delivery/transport.ts';
import { composeEdition, type EditionChoice } from '../editions/edition-for.ts';
import { preSendChecks } from '../render/checks.ts';
import { renderEdition } from '../render/render-edition.ts';
import { normaliseEmail } from '../subscribers/email.ts';
import { editionStatus } from '../store/editions.ts';
import type { Store } from '../store/handle.ts';
import { loadSecret } from '../store/secret.ts';
import { storedEdition } from '../store/stored-editions.ts';
import { SubscriberStore } from '../store/subscribers.ts';
import { changesLine, storedParts } from './edition-to-send.ts';
import { Tokens, recipientLinks } from '../subscribers/tokens.ts';

/** What a test copy came to: the server's reply, and what the checks would have refused. */
export interface TestCopyResult {
  editionId: string;
  /** The normalised address it went to. */
  to: string;
  result: SendResult;
  /** Pre-send check problems and emptiness: a test copy goes out anyway, so the editor sees them. */
  warnings: string[];
}

/**
 * Composes, renders and sends one copy of an edition marked [TEST] to one address; the ledger is
 * untouched. A frozen edition's copy shows the stored edition (what subscribers get), with a warning
 * when the files now compose it differently. Throws ContentError on invalid content.
 */
export async function publishTestCopy(
  deps: { config: Config; store: Store; transport: Transport },
  opts: { kind: Kind; date?: EditionChoice; contentDir?: string; now?: Date; to: string },
): Promise<TestCopyResult> {
  const { config } = deps;
  const { edition: composed } = await composeEdition(opts.kind, opts.date, config, opts.contentDir ?? config.contentDir, opts.now);
  const stored = await storedEdition(deps.store, composed.id);
  const edition = stored ? storedParts(stored).edition : composed;
  // Every link in a test copy works or is left out: "View in browser" only once the archive has the edition.
  const archived = (await editionStatus(deps.store, edition.id)) === 'sent';
  const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone, archived });
  const warnings = preSendChecks(rendered).map((p) => `pre-send check: ${p}`);
  const changed = stored && changesLine(stored, { edition: composed });
  if (changed) warnings.push(changed.replace(/sending the stored edition$/, 'the test copy shows the stored edition'));
  if (edition.empty) warnings.push(`${edition.id} is empty (no news in its window)`);

  const to = normaliseEmail(opts.to);
  const subscriber = await new SubscriberStore(deps.store).findByEmail(to);
  // A subscriber gets their own working links; anyone else the subscribe page, and no one-click
  // unsubscribe headers (tokens exist only for real ids, and there is nothing to unsubscribe from).
  const links = subscriber
    ? recipientLinks(config.baseUrl, new Tokens(await loadSecret(deps.store, config)), subscriber.id, opts.kind)
    : { unsubscribeUrl: `${config.baseUrl}/subscribe`, preferencesUrl: `${config.baseUrl}/subscribe` };
  const { result } = await sendTestCopy({ rendered, to, kind: opts.kind, config, transport: deps.transport, links, listUnsubscribe: subscriber !== undefined });
  return { editionId: edition.id, to, result, warnings };
}
