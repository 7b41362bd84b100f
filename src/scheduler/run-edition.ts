import { Writable } from 'node:stream';
import type { Config } from '../config.ts';
import { ContentError } from '../content/loader.ts';
import type { Db } from '../db.ts';
import type { Transport } from '../delivery/transport.ts';
import { composeEdition } from '../editions/edition-for.ts';
import type { Logger } from '../log.ts';
import { runSend, SEND_EXIT } from '../commands/send.ts';
import type { EditionRunner, RunResult } from './scheduler.ts';

/** A stream that keeps what is written, for putting a run's summary lines into the log. */
function collector(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { text(): string };
  stream.text = () => chunks.join('').trim();
  return stream;
}

/**
 * The scheduler's runner: the same path as `almanac send <kind> --date <date>` (compose, render,
 * pre-send checks, ledger, lock), on the service's shared database and SMTP pool.
 */
export function editionRunner(config: Config, deps: { db: Db; transport: Transport; contentDir: string; log: Logger }): EditionRunner {
  return async (kind, date, signal): Promise<RunResult> => {
    let empty: boolean;
    try {
      empty = (await composeEdition(kind, date, config, deps.contentDir)).edition.empty;
    } catch (error) {
      if (error instanceof ContentError) {
        return { outcome: 'invalid-content', detail: `${error.problems.length} content problem(s); nothing was sent`, problems: error.problems };
      }
      throw error;
    }
    if (empty) return { outcome: 'empty', detail: 'no news in the window; not sent' };

    const out = collector();
    const result = await runSend(config, {
      kind,
      date,
      contentDir: deps.contentDir,
      signal,
      out,
      err: collector() as unknown as NodeJS.WriteStream,
      progress: false,
      db: deps.db,
      transport: deps.transport,
      log: (event) => {
        if (event.level === 'debug') return;
        const { level, event: name, ...fields } = event;
        deps.log(`send.${name}`, { level, ...fields });
      },
    });
    const detail = out.text().replace(/\s*\n\s*/g, ' | ');
    const summary = result.summary;
    if (result.exitCode === SEND_EXIT.locked) return { outcome: 'locked', detail };
    if (!summary) return { outcome: 'failed', detail };
    if (summary.interrupted) return { outcome: 'stopped', detail };
    if (summary.complete || summary.alreadyComplete) return { outcome: 'sent', detail };
    return { outcome: 'partial', detail };
  };
}
