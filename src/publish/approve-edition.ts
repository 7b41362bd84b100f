import type { Config, Kind } from '../config.ts';
import { composeEdition, type EditionChoice } from '../editions/edition-for.ts';
import { preSendChecks } from '../render/checks.ts';
import { renderEdition } from '../render/render-edition.ts';
import type { Store } from '../store/handle.ts';
import { approveEdition, EditionStateError } from '../store/stored-editions.ts';
import { freezeInput } from './edition-to-send.ts';

/** What approving came to. */
export type ApproveResult =
  | { outcome: 'approved'; editionId: string; sendAt: Date; newsCount: number; hash: string; replaced: string | undefined }
  /** empty, failing the pre-send checks (without force), or already being sent */
  | { outcome: 'refused'; editionId: string; message: string; problems: string[] };

/**
 * Freezes and approves an edition: composes it from the files (ContentError when they are invalid),
 * renders it once, runs the pre-send checks and stores it as approved by `by`. Before any copy has
 * gone out, approving again replaces the stored edition; after, it is refused.
 */
export async function approve(
  deps: { config: Config; store: Store },
  opts: { kind: Kind; date: EditionChoice; by: string; contentDir?: string; force?: boolean; now?: Date; clock?: () => Date },
): Promise<ApproveResult> {
  const { config } = deps;
  const { edition } = await composeEdition(opts.kind, opts.date, config, opts.contentDir ?? config.contentDir, opts.now);
  if (edition.empty && !opts.force) {
    return { outcome: 'refused', editionId: edition.id, message: `${edition.id} is empty (no news in its window); not approved (use --force to approve it anyway)`, problems: [] };
  }
  const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
  const problems = preSendChecks(rendered);
  if (problems.length > 0 && !opts.force) {
    return { outcome: 'refused', editionId: edition.id, message: `${edition.id} failed the pre-send checks; not approved (fix the content, or use --force):\n  ${problems.join('\n  ')}`, problems };
  }
  const input = freezeInput(edition, rendered);
  try {
    const { replaced } = await approveEdition(deps.store, input, opts.by, opts.clock ?? (() => new Date()));
    return { outcome: 'approved', editionId: edition.id, sendAt: edition.sendAt, newsCount: edition.news.length, hash: input.hash, replaced };
  } catch (error) {
    if (error instanceof EditionStateError) return { outcome: 'refused', editionId: edition.id, message: error.message, problems: [] };
    throw error;
  }
}
