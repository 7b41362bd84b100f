import { hostname } from 'node:os';
import type { Config } from '../config.ts';
import type { ContentError } from '../content/loader.ts';
import type { Edition } from '../editions/compose.ts';
import { compositionHash, describeChanges, fromComposition, toComposition, type Composition } from '../editions/composition.ts';
import { preSendChecks } from '../render/checks.ts';
import { renderEdition } from '../render/render-edition.ts';
import type { RenderedEdition } from '../render/types.ts';
import type { Store } from '../store/handle.ts';
import { freezeAtFirstCopy, markFirstCopy, storedEdition, type FreezeInput, type StoredEdition } from '../store/stored-editions.ts';

/** Who froze an edition at its first copy, for its history: `send on <host>` or `scheduler on <host>`. */
export function actorName(door: 'send' | 'scheduler'): string {
  return `${door} on ${hostname()}`;
}

/** What is stored of an edition and its rendering. */
export function freezeInput(edition: Edition, rendered: RenderedEdition): FreezeInput {
  const composition = toComposition(edition);
  return {
    id: edition.id,
    kind: edition.kind,
    sendAt: edition.sendAt.toISOString(),
    composition: JSON.stringify(composition),
    hash: compositionHash(composition),
    subject: rendered.subject,
    preheader: rendered.preheader,
    html: rendered.html,
    text: rendered.text,
    newsCount: edition.news.length,
  };
}

/** A stored edition as the send path uses it: the edition it describes and its rendering, as stored. */
export function storedParts(stored: StoredEdition): { edition: Edition; rendered: RenderedEdition; composition: Composition } {
  const composition = JSON.parse(stored.composition) as Composition;
  const edition = fromComposition(composition);
  return {
    edition,
    composition,
    rendered: { id: stored.id, kind: edition.kind, subject: stored.subject, preheader: stored.preheader, html: stored.html, text: stored.text },
  };
}

/**
 * One line saying that the files now compose this edition differently from the stored one (and what
 * changed), or that they are invalid; undefined when they agree.
 */
export function changesLine(stored: StoredEdition, files: { edition?: Edition; error?: ContentError }): string | undefined {
  const what = `${stored.id} is frozen (${stored.state === 'frozen' ? `since its first copy at ${stored.firstCopyAt}` : `${stored.state} by ${stored.approvedBy} at ${stored.approvedAt}`})`;
  if (files.error) return `${what}; the content files are invalid now (${files.error.problems.length} problem(s)): sending the stored edition`;
  if (!files.edition) return undefined;
  const changes = describeChanges(JSON.parse(stored.composition) as Composition, toComposition(files.edition));
  return changes ? `${what}; the files now compose it differently (${changes}): sending the stored edition` : undefined;
}

/** The edition a run sends, or why it does not. */
export type EditionToSend =
  | { kind: 'send'; edition: Edition; rendered: RenderedEdition; stored: StoredEdition | undefined; notice: string | undefined }
  | { kind: 'refused'; edition: Edition; problems: string[] }
  | { kind: 'held'; edition: Edition; stored: StoredEdition };

/** How a run takes its edition. */
export interface TakeOptions {
  dryRun?: boolean;
  force?: boolean;
  /** Who freezes it, for its history. */
  actor: string;
  clock: () => Date;
}

/**
 * The edition to send: the stored one when the edition was frozen (approved, or already sent in
 * part), else the files' composition, rendered, checked and frozen now, at its first copy (a dry run
 * freezes nothing). Two hosts freezing at once agree: the loser sends the winner's. A stored edition
 * is marked as being sent before its first copy, so that no approval can replace it from then on.
 */
export async function editionToSend(
  store: Store,
  config: Pick<Config, 'baseUrl' | 'postalAddress' | 'timezone'>,
  files: { edition?: Edition; error?: ContentError },
  found: StoredEdition | undefined,
  options: TakeOptions,
): Promise<EditionToSend> {
  let stored = found;
  let notice: string | undefined;
  if (!stored) {
    const edition = files.edition!;
    const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
    if (options.dryRun) return { kind: 'send', edition, rendered, stored: undefined, notice: undefined };
    const problems = preSendChecks(rendered);
    if (problems.length > 0 && !options.force) return { kind: 'refused', edition, problems };
    const input = freezeInput(edition, rendered);
    stored = await freezeAtFirstCopy(store, input, options.actor, options.clock);
    if (stored.hash !== input.hash) notice = changesLine(stored, files);
  } else {
    notice = changesLine(stored, files);
  }
  for (let attempt = 0; ; attempt++) {
    const parts = storedParts(stored);
    if (stored.state === 'held') return { kind: 'held', edition: parts.edition, stored };
    if (options.dryRun || stored.firstCopyAt || (await markFirstCopy(store, stored.id, stored.hash, options.clock))) {
      return { kind: 'send', edition: parts.edition, rendered: parts.rendered, stored, notice };
    }
    // Approved again in between: take the new one (an approval cannot replace it once marked).
    if (attempt >= 3) throw new Error(`${stored.id} keeps being replaced by approvals while a send starts; try again`);
    stored = (await storedEdition(store, stored.id))!;
    notice = changesLine(stored, files);
  }
}
