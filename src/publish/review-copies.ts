import type { Config, Kind } from '../config.ts';
import { ContentError } from '../content/loader.ts';
import type { EditionSlot } from '../editions/calendar.ts';
import type { Edition } from '../editions/compose.ts';
import { composeEdition } from '../editions/edition-for.ts';
import { formatLocal } from '../editions/time.ts';
import { REVIEW_SUBJECT_PREFIX, sendTestCopy } from '../delivery/test-copy.ts';
import type { Transport } from '../delivery/transport.ts';
import { preSendChecks } from '../render/checks.ts';
import { renderEdition } from '../render/render-edition.ts';
import type { ReviewNote } from '../render/types.ts';
import type { Store } from '../store/handle.ts';
import { claimReview, recordAudit, releaseReview, storedEdition, type StoredEdition } from '../store/stored-editions.ts';
import { changesLine, storedParts } from './edition-to-send.ts';

/** What sending the review copies of one edition came to. */
export interface ReviewResult {
  editionId: string;
  /** The frozen composition's hash, or 'draft': each editor gets one copy per edition and key. */
  key: string;
  /** Editors who got their copy now. */
  sent: string[];
  /** Editors whose copy could not be sent (tried again later), with the reason. */
  failed: { email: string; reason: string }[];
  /** Why no copy could be made (the content is invalid and nothing is stored). */
  problems?: string[];
}

/** Where the edition stands, and the command an editor needs next. */
function stateAndCommand(slot: EditionSlot, stored: StoredEdition | undefined): { state: string; command: string } {
  const approve = `Approve it: npm run -s almanac -- editions approve ${slot.kind} --date ${slot.date} --by <your name>`;
  if (!stored) return { state: 'draft (not approved yet; it is composed from the files until then)', command: approve };
  if (stored.state === 'held') return { state: `held (approved by ${stored.approvedBy} at ${stored.approvedAt})`, command: `Release it: npm run -s almanac -- editions release ${slot.id}` };
  if (stored.state === 'approved') return { state: `approved by ${stored.approvedBy} at ${stored.approvedAt}`, command: `Hold it: npm run -s almanac -- editions hold ${slot.id}` };
  return { state: `frozen at its first copy (${stored.firstCopyAt})`, command: `History: npm run -s almanac -- editions show ${slot.id}` };
}

/** The edition a review shows: the stored one when it is frozen, else what the files compose now. */
async function editionToReview(config: Config, slot: EditionSlot, stored: StoredEdition | undefined, contentDir: string): Promise<{ edition?: Edition; files?: Edition; error?: ContentError }> {
  let files: Edition | undefined;
  let error: ContentError | undefined;
  try {
    files = (await composeEdition(slot.kind as Kind, slot.date, config, contentDir)).edition;
  } catch (e) {
    if (!(e instanceof ContentError)) throw e;
    error = e;
  }
  return { edition: stored ? storedParts(stored).edition : files, files, error };
}

/**
 * Sends each editor (ALMANAC_EDITORS) one review copy of an upcoming edition, marked [REVIEW]: the
 * edition as it stands (the stored one when frozen, else the files' composition), with a note
 * saying its state, its send time, the approve command and the pre-send check results. Once per
 * edition and frozen composition (a draft counts as one): a copy is claimed in the database before it
 * is sent, so several schedulers send it once; a copy that fails is given back and tried again.
 */
export async function sendReviewCopies(deps: { config: Config; store: Store; transport: Transport; contentDir: string; clock?: () => Date }, slot: EditionSlot): Promise<ReviewResult> {
  const { config, store } = deps;
  const clock = deps.clock ?? (() => new Date());
  const stored = await storedEdition(store, slot.id);
  const key = stored?.hash ?? 'draft';
  const result: ReviewResult = { editionId: slot.id, key, sent: [], failed: [] };
  const claimed: string[] = [];
  for (const email of config.review.editors) if (await claimReview(store, slot.id, key, email, clock)) claimed.push(email);
  if (claimed.length === 0) return result;
  const { edition, files, error } = await editionToReview(config, slot, stored, deps.contentDir);
  if (!edition) {
    for (const email of claimed) await releaseReview(store, slot.id, key, email);
    return { ...result, problems: error?.problems ?? [] };
  }
  const site = { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone };
  const checks = stored ? preSendChecks(storedParts(stored).rendered) : preSendChecks(await renderEdition(edition, site));
  const review: ReviewNote = { ...stateAndCommand(slot, stored), sendAt: formatLocal(slot.sendAt, config.timezone), checks, changes: stored ? changesLine(stored, { edition: files, error }) : undefined };
  const rendered = await renderEdition(edition, { ...site, archived: false, review });
  const links = { unsubscribeUrl: `${config.baseUrl}/subscribe`, preferencesUrl: `${config.baseUrl}/subscribe` };
  for (const email of claimed) {
    try {
      const sent = await sendTestCopy({ rendered, to: email, kind: slot.kind, config, transport: deps.transport, links, listUnsubscribe: false, clock, subjectPrefix: REVIEW_SUBJECT_PREFIX });
      if (sent.result.status !== 'sent') throw new Error(`${sent.result.status}: ${sent.result.response}`);
      result.sent.push(email);
    } catch (cause) {
      await releaseReview(store, slot.id, key, email);
      result.failed.push({ email, reason: cause instanceof Error ? cause.message : String(cause) });
    }
  }
  if (result.sent.length > 0) {
    await recordAudit(store, { editionId: slot.id, action: 'review', who: 'scheduler', at: clock().toISOString(), detail: `[REVIEW] copy to ${result.sent.join(', ')} (${key === 'draft' ? 'draft' : `composition ${key.slice(0, 12)}`})` });
  }
  return result;
}
