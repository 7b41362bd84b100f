import type { Config } from '../config.ts';
import { jsonLogger } from '../log.ts';
import { createTransport } from '../delivery/create-transport.ts';
import { pauseNotice, type PauseEvent } from '../delivery/outage.ts';
import { ProgressBar } from '../delivery/progress-bar.ts';
import { formatReport } from '../delivery/report.ts';
import type { SendLogEvent, SendSummary } from '../delivery/sender.ts';
import type { Transport } from '../delivery/transport.ts';
import { LATEST, composeEdition, slotFor } from '../editions/edition-for.ts';
import { publishEdition, type PublishOptions, type PublishResult } from '../publish/publish-edition.ts';
import { publishTestCopy } from '../publish/publish-test-copy.ts';
import { publishLines } from '../publish/summary-lines.ts';
import { editionReport } from '../store/editions.ts';
import type { Store } from '../store/handle.ts';
import { openStore } from '../store/open.ts';
import { redact } from '../redact.ts';
import { contentDir, contentOption, editionArg, editionOptions, kindArg, parse } from './args.ts';
import { UsageError, type Command } from './command.ts';

/**
 * Exit codes of `almanac send`:
 * 0 every recipient is final and none failed or is in doubt, or there was nothing to do (everyone already has it, dry run, test copy sent);
 * 1 failures, in-doubt or deferred recipients remain, the run stopped (SMTP unreachable), or the edition was refused (empty, pre-send checks,
 *   held, or its send time still ahead without --now);
 * 2 usage or configuration error;
 * 3 another run holds the edition's send lock (SQLite only: on PostgreSQL concurrent runs share the edition);
 * 130 / 143 interrupted by SIGINT / SIGTERM (resume by running the same command again).
 */
export const SEND_EXIT = { ok: 0, incomplete: 1, usage: 2, locked: 3, sigint: 130, sigterm: 143 } as const;

/** `almanac send` as a function, for the demo and the bench: the CLI's door onto publishEdition. */
export interface RunSendOptions extends Omit<PublishOptions, 'now'> {
  /** Send one test copy to this address only; the ledger is untouched. */
  to?: string;
  /** Where summary lines go. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Where the progress bar and log lines go. @default process.stderr */
  err?: NodeJS.WriteStream;
  /** Progress bar: @default err.isTTY */
  progress?: boolean;
  /** Reuse an open store / transport (not closed here). */
  store?: Store;
  transport?: Transport;
  /** "Now" for picking the next edition when `date` is omitted. */
  now?: Date;
}

/** The exit code the CLI would use, and the summary when a run happened. */
export interface RunSendResult {
  exitCode: number;
  editionId: string;
  summary?: SendSummary;
}

/** Publishes with the real store (SQLite or PostgreSQL) and transport, prints what happened and chooses the exit code. Throws ContentError on invalid content. */
export async function runSend(config: Config, opts: RunSendOptions): Promise<RunSendResult> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const say = (line: string) => out.write(`${line}\n`);
  const store = opts.store ?? (await openStore(config.dbPath, { poolSize: config.dbPoolSize }));
  const transport = opts.transport ?? createTransport(config);
  try {
    if (opts.to) {
      const copy = await publishTestCopy({ config, store, transport }, { ...opts, to: opts.to });
      for (const w of copy.warnings) err.write(`warning: ${w}\n`);
      if (copy.result.status === 'sent') {
        say(`test copy of ${copy.editionId} sent to ${copy.to} (${copy.result.response}); the ledger is unchanged`);
        return { exitCode: SEND_EXIT.ok, editionId: copy.editionId };
      }
      say(`test copy of ${copy.editionId} to ${copy.to} ${copy.result.status}: ${copy.result.response}`);
      return { exitCode: SEND_EXIT.incomplete, editionId: copy.editionId };
    }

    const bar = (opts.progress ?? err.isTTY) ? new ProgressBar(err) : undefined;
    const json = jsonLogger(err); // the same JSON lines as everywhere, secrets masked
    const log = (event: SendLogEvent) => {
      if (event.level === 'debug' || (bar && event.level === 'info')) return;
      bar?.clear();
      const { event: name, ...fields } = event;
      json(name, fields);
      // A wait (SMTP server or database unreachable) also gets a plain line where the summary goes.
      if (name === 'run.paused') say(redact(pauseNotice(event as unknown as PauseEvent, new Date(), config.timezone)));
    };
    let result: PublishResult;
    try {
      result = await publishEdition({ config, store, transport, log, onProgress: bar ? (p) => bar.update(p) : undefined }, opts);
    } finally {
      bar?.clear();
    }
    if (result.outcome === 'invalid-content') throw result.error;
    if (result.notice) say(result.notice);
    for (const line of publishLines(result)) say(line);
    return { exitCode: exitCodeFor(result), editionId: result.editionId, ...('summary' in result ? { summary: result.summary } : {}) };
  } finally {
    if (!opts.transport) await transport.close();
    if (!opts.store) await store.close();
  }
}

/** The exit code a publish result deserves (see SEND_EXIT). */
export function exitCodeFor(result: PublishResult): number {
  switch (result.outcome) {
    case 'locked':
      return SEND_EXIT.locked;
    case 'dry-run':
    case 'already-complete':
      return SEND_EXIT.ok;
    case 'sent':
      return result.summary.failed > 0 || result.summary.inDoubt.length > 0 ? SEND_EXIT.incomplete : SEND_EXIT.ok;
    default:
      return SEND_EXIT.incomplete;
  }
}

/** `send <kind> [--date D | --latest] [--now] [--dry-run] [--to EMAIL] [--resend-unknown] [--force] [--report] [--content DIR]` */
export const sendCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {
    ...contentOption,
    ...editionOptions,
    'dry-run': { type: 'boolean' },
    to: { type: 'string' },
    'resend-unknown': { type: 'boolean' },
    force: { type: 'boolean' },
    report: { type: 'boolean' },
    now: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const kind = kindArg(positionals[0]);
  const date = editionArg(values);
  if (values.to !== undefined && !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(values.to)) {
    throw new UsageError(`--to: expected an email address, found ${JSON.stringify(values.to)}`);
  }
  if (values.to && (values['dry-run'] || values['resend-unknown'])) {
    throw new UsageError('--to sends one test copy; it cannot be combined with --dry-run or --resend-unknown');
  }
  const config = ctx.config();

  if (values.report) {
    const now = ctx.now();
    const slot = date === LATEST ? (await composeEdition(kind, LATEST, config, contentDir(values, config), now)).edition : slotFor(kind, date, config, now);
    const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
    try {
      const report = await editionReport(store, slot.id, true);
      if (!report) {
        ctx.stdout.write(`${slot.id} has not been sent: no ledger rows\n`);
        return 1;
      }
      ctx.stdout.write(formatReport(report));
      return 0;
    } finally {
      await store.close();
    }
  }

  // SIGINT/SIGTERM: stop taking recipients, let in-flight ones finish and be recorded.
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return; // a second ^C while finishing: keep finishing (kill -9 is the hard stop)
    signalled = signal;
    ctx.stderr.write(`\nalmanac send: ${signal} received; finishing the messages in flight and recording them…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runSend(config, {
      kind,
      date,
      contentDir: contentDir(values, config),
      dryRun: values['dry-run'],
      to: values.to,
      resendUnknown: values['resend-unknown'],
      force: values.force,
      // An edition whose send time is still ahead goes out only when asked (--now): no early send by accident.
      refuseEarly: !values.now,
      signal: controller.signal,
      now: ctx.now(),
      out: ctx.stdout,
      err: ctx.stderr,
    });
    if (signalled) return signalled === 'SIGINT' ? SEND_EXIT.sigint : SEND_EXIT.sigterm;
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};
