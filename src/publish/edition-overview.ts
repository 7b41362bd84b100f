import { KINDS, type Config, type Kind } from '../config.ts';
import { ContentError, type Content } from '../content/loader.ts';
import { editionById, editionOn, latestEdition, nextEdition, type EditionSlot } from '../editions/calendar.ts';
import { compose, type Edition } from '../editions/compose.ts';
import { compositionHash, toComposition } from '../editions/composition.ts';
import { loadEditionContent } from '../editions/edition-for.ts';
import { addDays } from '../editions/time.ts';
import { editionStatus } from '../store/editions.ts';
import type { Store } from '../store/handle.ts';
import { auditLog, storedEdition, storedEditions, type AuditEntry, type StoredEdition } from '../store/stored-editions.ts';
import { changesLine, storedParts } from './edition-to-send.ts';

/** Where an edition stands, as `editions list` shows it. */
export type EditionState = 'draft' | 'approved' | 'held' | 'sending' | 'sent';

/** One row of `editions list`. */
export interface EditionEntry {
  id: string;
  kind: Kind;
  sendAt: Date;
  state: EditionState;
  /** News items: the stored edition's, else what the files compose now; null when the content is invalid. */
  news: number | null;
  approvedBy: string | null;
  approvedAt: string | null;
  /** Whether the files compose it differently now than when it was frozen; null when it is not frozen or the content is invalid. */
  changed: boolean | null;
}

/** The state of an edition from its stored row and its run row. */
export function editionState(stored: StoredEdition | undefined, runStatus: string | undefined): EditionState {
  if (runStatus === 'sent') return 'sent';
  if (stored?.state === 'held') return 'held';
  if (stored?.firstCopyAt || runStatus === 'sending') return 'sending';
  if (stored?.state === 'approved') return 'approved';
  return 'draft';
}

/** The files' content, or the problems that make it invalid. */
async function contentOrError(config: Config, contentDir: string): Promise<Content | ContentError> {
  try {
    return await loadEditionContent(config, contentDir);
  } catch (error) {
    if (error instanceof ContentError) return error;
    throw error;
  }
}

/** How many editions of each kind `editions list` shows before and after now. */
const RECENT = 4;
const UPCOMING = 2;

/** The slots `editions list` shows: the next UPCOMING and the last RECENT of each kind, newest first. */
function listedSlots(config: Config, now: Date): EditionSlot[] {
  const slots: EditionSlot[] = [];
  for (const kind of KINDS) {
    let next = nextEdition(kind, now, config);
    for (let i = 0; i < UPCOMING; i++, next = editionOn(kind, addDays(next.date, 1), config)) slots.push(next);
    let last = latestEdition(kind, now, config);
    for (let i = 0; i < RECENT; i++, last = editionOn(kind, addDays(last.date, -7), config)) slots.push(last);
  }
  return slots.sort((a, b) => b.sendAt.getTime() - a.sendAt.getTime() || a.id.localeCompare(b.id));
}

/** The entry of one edition, from what is stored and what the files compose now. */
function entryFor(slot: EditionSlot, stored: StoredEdition | undefined, runStatus: string | undefined, content: Content | ContentError): EditionEntry {
  const files = content instanceof ContentError ? undefined : compose(content, slot);
  return {
    id: slot.id,
    kind: slot.kind,
    sendAt: slot.sendAt,
    state: editionState(stored, runStatus),
    news: stored ? stored.newsCount : (files?.news.length ?? null),
    approvedBy: stored?.approvedBy ?? null,
    approvedAt: stored?.approvedAt ?? null,
    changed: stored && files ? compositionHash(toComposition(files)) !== stored.hash : null,
  };
}

/** Upcoming and recent editions of both kinds with their state (`editions list`). */
export async function listEditions(deps: { config: Config; store: Store }, opts: { contentDir?: string; now?: Date } = {}): Promise<{ entries: EditionEntry[]; contentProblems: number }> {
  const { config, store } = deps;
  const slots = listedSlots(config, opts.now ?? new Date());
  const content = await contentOrError(config, opts.contentDir ?? config.contentDir);
  const stored = await storedEditions(store, slots.map((s) => s.id));
  const runs = await Promise.all(slots.map((s) => editionStatus(store, s.id)));
  const entries = slots.map((slot, i) => entryFor(slot, stored.get(slot.id), runs[i], content));
  return { entries, contentProblems: content instanceof ContentError ? content.problems.length : 0 };
}

/** One edition in detail (`editions show`). */
export interface EditionDetail extends EditionEntry {
  subject: string | null;
  preheader: string | null;
  /** The titles of its news: the stored edition's, else the files'. */
  titles: string[];
  hash: string | null;
  /** One line naming what changed since it was frozen, when the files compose it differently. */
  changes: string | undefined;
  history: AuditEntry[];
}

/** An edition in detail, with its history; undefined when `id` is no edition id. */
export async function showEdition(deps: { config: Config; store: Store }, id: string, opts: { contentDir?: string } = {}): Promise<EditionDetail | undefined> {
  const { config, store } = deps;
  const slot = editionById(id, config);
  if (!slot) return undefined;
  const content = await contentOrError(config, opts.contentDir ?? config.contentDir);
  const stored = await storedEdition(store, id);
  const entry = entryFor(slot, stored, await editionStatus(store, id), content);
  const files: Edition | undefined = content instanceof ContentError ? undefined : compose(content, slot);
  const shown = stored ? storedParts(stored).edition : files;
  return {
    ...entry,
    subject: shown?.subject ?? null,
    preheader: shown?.preheader ?? null,
    titles: shown?.news.map((n) => n.title) ?? [],
    hash: stored?.hash ?? null,
    changes: stored ? changesLine(stored, content instanceof ContentError ? { error: content } : { edition: files }) : undefined,
    history: await auditLog(store, id),
  };
}
