import type { Config, Kind } from '../config.ts';
import type { Transport } from '../delivery/transport.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/handle.ts';
import { publishEdition, type PublishResult } from '../publish/publish-edition.ts';
import { publishLines } from '../publish/summary-lines.ts';
import { composeEdition } from '../editions/edition-for.ts';
import { actorName } from '../publish/edition-to-send.ts';
import { sendReviewCopies } from '../publish/review-copies.ts';
import { EMPTY_DETAIL, type EditionRunner, type ReviewRunner, type RunResult } from './scheduler.ts';

/**
 * The scheduler's runner: publishes the edition by the same use case as `almanac send <kind> --date <date>`
 * (compose, render, pre-send checks, ledger, lock), on the service's shared database and SMTP pool.
 */
export function editionRunner(config: Config, deps: { store: Store; transport: Transport; contentDir: string; log: Logger }): EditionRunner {
  return async (kind, date, signal): Promise<RunResult> => {
    const result = await publishEdition(
      {
        config,
        store: deps.store,
        transport: deps.transport,
        log: (event) => {
          if (event.level === 'debug') return;
          const { level, event: name, ...fields } = event;
          deps.log(`send.${name}`, { level, ...fields });
        },
      },
      { kind, date, contentDir: deps.contentDir, signal, actor: actorName('scheduler') },
    );
    // The stored edition is sent as it is; say once per attempt when the files now compose it differently.
    if (result.notice) deps.log('schedule.files-changed', { editionId: 'editionId' in result ? result.editionId : undefined, level: 'warn', detail: result.notice });
    return runResult(result);
  };
}

/** Whether an edition has no news in its window (the scheduler's `isEmpty`); undefined when the content is invalid or unreadable. */
export function editionIsEmpty(config: Config, contentDir: string): (kind: Kind, date: string) => Promise<boolean | undefined> {
  return async (kind, date) => {
    try {
      return (await composeEdition(kind, date, config, contentDir)).edition.empty;
    } catch {
      return undefined; // the stale report stands; a send by hand reports the content problems
    }
  };
}

/** The scheduler's review runner: the editors' [REVIEW] copies of an upcoming edition, on the service's database and SMTP pool. */
export function reviewRunner(config: Config, deps: { store: Store; transport: Transport; contentDir: string; clock?: () => Date }): ReviewRunner {
  return (slot) => sendReviewCopies({ config, ...deps }, slot);
}

/** How the scheduler records a publish result: its outcome word and one line of detail. */
function runResult(result: PublishResult): RunResult {
  const detail = publishLines(result).map((line) => line.trim()).join(' | ');
  switch (result.outcome) {
    case 'invalid-content':
      return { outcome: 'invalid-content', detail: `${result.error.problems.length} content problem(s); nothing was sent`, problems: result.error.problems };
    case 'empty':
      return { outcome: 'empty', detail: EMPTY_DETAIL };
    case 'locked':
      return { outcome: 'locked', detail };
    case 'held':
      return { outcome: 'awaiting-approval', detail };
    case 'early':
      return { outcome: 'failed', detail };
    case 'refused':
      return { outcome: 'failed', detail };
    case 'interrupted':
      return { outcome: 'stopped', detail };
    case 'sent':
    case 'already-complete':
      return { outcome: 'sent', detail };
    default:
      return { outcome: 'partial', detail };
  }
}
