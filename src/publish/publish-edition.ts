import type { Config, Kind } from '../config.ts';
import { ContentError } from '../content/loader.ts';
import { SendLockedError } from '../store/send-lock.ts';
import { SendRefusedError, resumeHint, sendEdition, type SendLogEvent, type SendProgress, type SendSummary } from '../delivery/sender.ts';
import type { Transport } from '../delivery/transport.ts';
import { LATEST, composeEdition, slotFor, type EditionChoice } from '../editions/edition-for.ts';
import type { Edition } from '../editions/compose.ts';
import { formatLocal } from '../editions/time.ts';
import type { RenderedEdition } from '../render/render-edition.ts';
import { prepareTracking, type PreparedTracking } from '../tracking/setup.ts';
import type { Store } from '../store/handle.ts';
import { loadSecret } from '../store/secret.ts';
import { storedEdition } from '../store/stored-editions.ts';
import { Tokens, recipientLinks } from '../subscribers/tokens.ts';
import { actorName, editionToSend } from './edition-to-send.ts';

/**
 * What publishing an edition came to. Each door decides how to show it: `almanac send` as printed
 * lines and an exit code, the scheduler as a log event.
 */
export type PublishOutcome =
  /** every recipient reached a final state (some may have failed or be in doubt: see the summary) */
  | 'sent'
  /** everyone already had it: nothing was sent */
  | 'already-complete'
  /** recipients remain deferred: a later run resumes it */
  | 'incomplete'
  /** the run stopped early (SMTP unreachable, credentials refused, lease lost): a later run resumes it */
  | 'stopped'
  /** the caller's signal stopped the run; everything in flight was recorded */
  | 'interrupted'
  /** counted only, nothing sent or recorded */
  | 'dry-run'
  /** no news in the window and not forced: nothing rendered or sent */
  | 'empty'
  /** content failed validation: nothing composed or sent */
  | 'invalid-content'
  /** the pre-send checks failed and not forced: nothing sent */
  | 'refused'
  /** another run holds the edition's send lock */
  | 'locked'
  /** the edition was approved, then held: nothing sends it until it is released */
  | 'held'
  /** its send time is still ahead and sending early was not asked for (`send` without `--now`) */
  | 'early';

/** The typed result of publishEdition; `notice` says when the stored edition differs from what the files compose now. */
export type PublishResult = (
  | { outcome: 'invalid-content'; kind: Kind; error: ContentError }
  | { outcome: 'empty' | 'refused' | 'locked' | 'held' | 'early'; kind: Kind; editionId: string; message: string; problems: string[] }
  | { outcome: 'sent' | 'already-complete' | 'incomplete' | 'stopped' | 'interrupted' | 'dry-run'; kind: Kind; editionId: string; summary: SendSummary }
) & { notice?: string };

/** The real parts publishing uses; the doors wire them (the CLI opens its own, the service shares one). */
export interface PublishDeps {
  config: Config;
  /** The database: SQLite or PostgreSQL (ALMANAC_DB). */
  store: Store;
  transport: Transport;
  /** Every send log event (the CLI prints them as JSON lines, the scheduler logs them). */
  log?: (event: SendLogEvent) => void;
  onProgress?: (progress: SendProgress) => void;
}

/** Which edition to publish and how. */
export interface PublishOptions {
  kind: Kind;
  /** YYYY-MM-DD, or LATEST (the most recent edition with news); the next edition of the kind from `now` when omitted. */
  date?: EditionChoice;
  /** @default config.contentDir */
  contentDir?: string;
  /** "Now" for picking the next edition when `date` is omitted. @default new Date() */
  now?: Date;
  dryRun?: boolean;
  resendUnknown?: boolean;
  /** Send an empty edition, or one failing the pre-send checks. */
  force?: boolean;
  /** Abort = stop taking recipients, finish and record those in flight. */
  signal?: AbortSignal;
  /**
   * Refuse an edition whose send time is still ahead (`almanac send` without `--now`): nothing is
   * frozen or sent, and the result says when it is due. Dry runs and the scheduler never refuse.
   * @default false
   */
  refuseEarly?: boolean;
  /** Who freezes the edition at its first copy, for its history. @default actorName('send') */
  actor?: string;
  /** The clock of freezing and of the history. @default () => new Date() */
  clock?: () => Date;
}

/** The files' composition of the chosen edition, or why there is none (invalid content). */
async function composeFiles(opts: PublishOptions, config: Config): Promise<{ edition?: Edition; error?: ContentError }> {
  try {
    return { edition: (await composeEdition(opts.kind, opts.date, config, opts.contentDir ?? config.contentDir, opts.now)).edition };
  } catch (error) {
    if (error instanceof ContentError) return { error };
    throw error;
  }
}

/**
 * Publishes one edition: the stored edition when it was frozen (approved, or already sent in part),
 * else compose → render once → pre-send checks → freeze → send to every active subscriber of its
 * kind through the ledger. The one path of `almanac send`, the scheduler, the demo and the bench.
 * A frozen edition is sent even when the files now compose it differently or are invalid (the
 * result's `notice` says so). Throws only for failures of the whole run that are not an outcome
 * (e.g. the database is unusable), with a message that says how to resume.
 */
export async function publishEdition(deps: PublishDeps, opts: PublishOptions): Promise<PublishResult> {
  const { config } = deps;
  const kind = opts.kind;
  const files = await composeFiles(opts, config);
  // Without valid content a dated edition can still be sent, if it is stored.
  const id = files.edition?.id ?? (opts.date === LATEST ? undefined : slotFor(kind, opts.date, config, opts.now).id);
  const found = id === undefined ? undefined : await storedEdition(deps.store, id);
  if (!found && files.error) return { outcome: 'invalid-content', kind, error: files.error };
  const clock = opts.clock ?? (() => new Date());
  const chosen = found ?? files.edition!;
  const empty = found ? found.newsCount === 0 : files.edition!.empty;
  if (empty && !opts.force) {
    const refused = new SendRefusedError(chosen.id, 'empty', []);
    return { outcome: 'empty', kind, editionId: chosen.id, message: refused.message, problems: [] };
  }
  const sendAt = found ? new Date(found.sendAt) : files.edition!.sendAt;
  const now = opts.now ?? clock();
  if (opts.refuseEarly && !opts.dryRun && sendAt > now) {
    return { outcome: 'early', kind, editionId: chosen.id, message: earlyMessage(chosen.id, kind, sendAt, now, config.timezone), problems: [] };
  }
  const taken = await editionToSend(deps.store, config, files, found, { dryRun: opts.dryRun, force: opts.force, actor: opts.actor ?? actorName('send'), clock });
  if (taken.kind === 'refused') {
    const refused = new SendRefusedError(taken.edition.id, 'checks', taken.problems);
    return { outcome: 'refused', kind, editionId: taken.edition.id, message: refused.message, problems: taken.problems };
  }
  if (taken.kind === 'held') {
    const message = `${taken.edition.id} is held (approved by ${taken.stored.approvedBy}, then held); not sent. Release it with: npm run -s almanac -- editions release ${taken.edition.id}`;
    return { outcome: 'held', kind, editionId: taken.edition.id, message, problems: [] };
  }
  const result = await sendTaken(deps, opts, taken.edition, taken.rendered);
  return taken.notice ? { ...result, notice: taken.notice } : result;
}

/** What `send` says about an edition whose send time is still ahead: when it is due, and how to send it now. */
function earlyMessage(id: string, kind: Kind, sendAt: Date, now: Date, timeZone: string): string {
  const minutes = Math.ceil((sendAt.getTime() - now.getTime()) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const left = days > 0 ? `${days} d ${hours} h` : hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
  return (
    `${id} is due ${formatLocal(sendAt, timeZone)} (in ${left}); not sent before its time. ` +
    `Send it now with: npm run -s almanac -- send ${kind} --date ${id.slice(0, 10)} --now (the scheduler sends it at its time)`
  );
}

/** Sends the taken edition (tracked when ALMANAC_TRACKING says so) and turns what happened into a result. */
async function sendTaken(deps: PublishDeps, opts: PublishOptions, edition: Edition, rendered: RenderedEdition): Promise<PublishResult> {
  const { config } = deps;
  const kind = opts.kind;
  try {
    const tokens = new Tokens(await loadSecret(deps.store, config));
    // ALMANAC_TRACKING: story and guide links through /r/ (saved for the redirect); off or a dry run: unchanged.
    const tracking = opts.dryRun ? untracked(rendered) : await prepareTracking(deps.store, config, edition, rendered);
    const links = (id: number, k: Kind) => ({ ...recipientLinks(config.baseUrl, tokens, id, k), ...tracking.links(id) });
    // sendEdition runs the pre-send checks before it touches anyone (SendRefusedError).
    const summary = await sendEdition(
      { store: deps.store, transport: deps.transport, config, links, log: deps.log },
      {
        edition,
        rendered: tracking.rendered,
        archiveRendered: rendered,
        dryRun: opts.dryRun,
        resendUnknown: opts.resendUnknown,
        force: opts.force,
        signal: opts.signal,
        onProgress: deps.onProgress,
      },
    );
    return { outcome: outcomeOf(summary), kind, editionId: edition.id, summary };
  } catch (error) {
    if (error instanceof SendLockedError) return { outcome: 'locked', kind, editionId: edition.id, message: error.message, problems: [] };
    if (error instanceof SendRefusedError) return { outcome: error.reason === 'empty' ? 'empty' : 'refused', kind, editionId: edition.id, message: error.message, problems: error.problems };
    throw new Error(`cannot send ${edition.id}; what was recorded is kept, resume with: ${resumeHint(edition)}`, { cause: error });
  }
}

/** The outcome a finished run's summary stands for. */
function outcomeOf(summary: SendSummary): 'sent' | 'already-complete' | 'incomplete' | 'stopped' | 'interrupted' | 'dry-run' {
  if (summary.dryRun) return 'dry-run';
  if (summary.interrupted) return 'interrupted';
  if (summary.alreadyComplete) return 'already-complete';
  if (summary.complete) return 'sent';
  return summary.stopped ? 'stopped' : 'incomplete';
}

/** No tracking: the edition as rendered, no per-copy values. */
function untracked(rendered: RenderedEdition): PreparedTracking {
  return { rendered, links: () => ({}) };
}
