import type { EditionSlot } from '../../editions/calendar.ts';
import { compose, type Edition } from '../../editions/compose.ts';
import { preSendChecks } from '../../render/checks.ts';
import { personalise, renderEdition } from '../../render/render-edition.ts';
import { sampleLinks } from '../../render/sample-links.ts';
import { archivedHtml, editionStatus } from '../../store/editions.ts';
import type { App } from '../app.ts';
import { currentContent } from '../routes/guides.ts';

/** An edition as the desk shows it: what subscribers get (or got), and what the checks say. */
export interface DeskEdition {
  slot: EditionSlot;
  /** The `editions` row's status once a send started ('sending', 'sent', 'failed', 'skipped'), else undefined. */
  status: string | undefined;
  /** Composed from the content as it is now; undefined when the content is invalid. */
  edition: Edition | undefined;
  /**
   * The copy: for a sent edition the archive copy it went out as; otherwise rendered now through the
   * sending path and personalised for the sample subscriber (as `almanac preview` does). Undefined when
   * there is nothing to show (invalid content, or a render error: see `problems`).
   */
  html: string | undefined;
  /** Pre-send check problems, emptiness, invalid content or a render error (none for a sent edition). */
  problems: string[];
}

/** Editions kept rendered per server (a render costs 5–150 ms). */
const KEPT = 16;
const caches = new WeakMap<App, Map<string, { key: string; value: Promise<DeskEdition> }>>();

/** The desk's view of an edition, rendered once per change of the content or of its send state. */
export async function deskEdition(app: App, slot: EditionSlot): Promise<DeskEdition> {
  const [snapshot, status] = await Promise.all([currentContent(app), editionStatus(app.db, slot.id)]);
  const key = `${snapshot?.version ?? 'invalid'}|${status ?? ''}`;
  let cache = caches.get(app);
  if (!cache) caches.set(app, (cache = new Map()));
  const held = cache.get(slot.id);
  if (held?.key === key) return held.value;
  const value = build(app, slot, status, snapshot && compose(snapshot.content, slot));
  cache.delete(slot.id);
  cache.set(slot.id, { key, value });
  if (cache.size > KEPT) cache.delete(cache.keys().next().value!);
  value.catch(() => cache.delete(slot.id));
  return value;
}

async function build(app: App, slot: EditionSlot, status: string | undefined, edition: Edition | undefined): Promise<DeskEdition> {
  const view: DeskEdition = { slot, status, edition, html: undefined, problems: [] };
  if (status === 'sent') return { ...view, html: await archivedHtml(app.db, slot.id) };
  if (!edition) return { ...view, problems: ['The content does not pass `almanac content check` right now: nothing can be composed.'] };
  const { config } = app;
  try {
    const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
    const problems = preSendChecks(rendered);
    if (edition.empty) problems.unshift(`${slot.id} is empty: no news in its window, so it is not sent unless forced.`);
    return { ...view, html: personalise(rendered, sampleLinks(config, slot.kind)).html, problems };
  } catch (error) {
    app.log(`desk: cannot render ${slot.id}: ${(error as Error).message}`);
    return { ...view, problems: [`It cannot be rendered: ${(error as Error).message}`] };
  }
}
