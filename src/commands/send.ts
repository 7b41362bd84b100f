import { UsageError, type Command } from './command.ts';
import type { Config, Kind } from '../config.ts';
import { openDb, type Db } from '../db.ts';
import { ProgressBar, formatCount } from '../delivery/progress-bar.ts';
import { editionReport, formatReport } from '../delivery/report.ts';
import { SendLockedError } from '../delivery/send-lock.ts';
import { SendRefusedError, resumeHint, sendEdition, type SendLogEvent, type SendProgress, type SendSummary } from '../delivery/sender.ts';
import { sendTestCopy } from '../delivery/test-copy.ts';
import { createTransport } from '../delivery/create-transport.ts';
import type { Transport } from '../delivery/transport.ts';
import { composeEdition } from '../editions/edition-for.ts';
import { renderEdition } from '../render/render-edition.ts';
import { preSendChecks } from '../render/checks.ts';
import { normaliseEmail } from '../subscribers/email.ts';
import { SubscriberStore } from '../subscribers/store.ts';
import { Tokens, loadSecret, recipientLinks } from '../subscribers/tokens.ts';
import { contentDir, contentOption, dateArg, kindArg, parse } from './args.ts';

/**
 * Exit codes of `almanac send`:
 * 0 every recipient is final and none failed or is in doubt, or there was nothing to do (everyone already has it, dry run, test copy sent);
 * 1 failures, in-doubt or deferred recipients remain, the run stopped (SMTP unreachable), or the edition was refused (empty, pre-send checks);
 * 2 usage or configuration error;
 * 3 another run holds the edition's send lock;
 * 130 / 143 interrupted by SIGINT / SIGTERM (resume by running the same command again).
 */
export const SEND_EXIT = { ok: 0, incomplete: 1, usage: 2, locked: 3, sigint: 130, sigterm: 143 } as const;

/** `almanac send` as a function, for the scheduler and the demo. */
export interface RunSendOptions {
  kind: Kind;
  /** YYYY-MM-DD; the next edition of the kind when omitted. */
  date?: string;
  contentDir?: string;
  dryRun?: boolean;
  /** Send one test copy to this address only; the ledger is untouched. */
  to?: string;
  resendUnknown?: boolean;
  force?: boolean;
  signal?: AbortSignal;
  /** Where summary lines go. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** Where the progress bar and log lines go. @default process.stderr */
  err?: NodeJS.WriteStream;
  /** Progress bar: @default err.isTTY */
  progress?: boolean;
  /** Extra sink for log events (the scheduler's log). */
  log?: (event: SendLogEvent) => void;
  /** Reuse an open database / transport (not closed here). */
  db?: Db;
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

/** Compose → render → checks → send, with the real SQLite store, tokens and transport: `almanac send`, the scheduler and the demo. */
export async function runSend(config: Config, opts: RunSendOptions): Promise<RunSendResult> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const say = (line: string) => out.write(`${line}\n`);
  const { edition } = await composeEdition(opts.kind, opts.date, config, opts.contentDir ?? config.contentDir, opts.now);
  const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });

  const db = opts.db ?? openDb(config.dbPath);
  const transport = opts.transport ?? createTransport(config);
  try {
    const store = new SubscriberStore(db);
    const tokens = new Tokens(loadSecret(db, config));
    const links = (id: number, kind: Kind) => recipientLinks(config.baseUrl, tokens, id, kind);

    if (opts.to) {
      const problems = preSendChecks(rendered);
      for (const p of problems) err.write(`warning: pre-send check: ${p}\n`);
      if (edition.empty) err.write(`warning: ${edition.id} is empty (no news in its window)\n`);
      const to = normaliseEmail(opts.to);
      const subscriber = store.findByEmail(to);
      // A subscriber gets their own working links; anyone else the archive's (tokens exist only for real ids).
      const testLinks = subscriber
        ? links(subscriber.id, opts.kind)
        : { unsubscribeUrl: `${config.baseUrl}/subscribe`, preferencesUrl: `${config.baseUrl}/subscribe` };
      const { result } = await sendTestCopy({ rendered, to, kind: opts.kind, config, transport, links: testLinks });
      if (result.status === 'sent') {
        say(`test copy of ${edition.id} sent to ${to} (${result.response}); the ledger is unchanged`);
        return { exitCode: SEND_EXIT.ok, editionId: edition.id };
      }
      say(`test copy of ${edition.id} to ${to} ${result.status}: ${result.response}`);
      return { exitCode: SEND_EXIT.incomplete, editionId: edition.id };
    }

    const bar = (opts.progress ?? err.isTTY) ? new ProgressBar(err) : undefined;
    const log = (event: SendLogEvent) => {
      opts.log?.(event);
      if (event.level === 'debug' || (bar && event.level === 'info')) return;
      bar?.clear();
      err.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
    };
    let summary: SendSummary;
    try {
      summary = await sendEdition(
        { db, store, transport, config, links, log },
        {
          edition,
          rendered,
          dryRun: opts.dryRun,
          resendUnknown: opts.resendUnknown,
          force: opts.force,
          signal: opts.signal,
          onProgress: bar ? (p: SendProgress) => bar.update(p) : undefined,
        },
      );
    } catch (error) {
      bar?.clear();
      if (error instanceof SendLockedError) {
        say(`almanac send: ${error.message}`);
        return { exitCode: SEND_EXIT.locked, editionId: edition.id };
      }
      if (error instanceof SendRefusedError) {
        say(`almanac send: ${error.message}`);
        return { exitCode: SEND_EXIT.incomplete, editionId: edition.id };
      }
      throw new Error(`cannot send ${edition.id}; what was recorded is kept, resume with: ${resumeHint(edition)}`, { cause: error });
    } finally {
      bar?.clear();
    }
    for (const line of summaryLines(summary, opts.kind)) say(line);
    return { exitCode: exitCodeFor(summary), editionId: edition.id, summary };
  } finally {
    if (!opts.transport) await transport.close();
    if (!opts.db) db.close();
  }
}

/** The exit code a summary deserves (see SEND_EXIT). */
export function exitCodeFor(summary: SendSummary): number {
  if (summary.dryRun || summary.alreadyComplete) return SEND_EXIT.ok;
  if (summary.interrupted || summary.stopped) return SEND_EXIT.incomplete;
  if (!summary.complete || summary.failed > 0 || summary.inDoubt.length > 0) return SEND_EXIT.incomplete;
  return SEND_EXIT.ok;
}

/** The final summary printed after a run. */
export function summaryLines(s: SendSummary, kind: Kind): string[] {
  const hint = resumeHint({ kind, id: s.editionId });
  const lines: string[] = [];
  if (s.dryRun) {
    lines.push(
      `dry run: ${s.editionId} would go to ${formatCount(s.wouldSend)} of ${formatCount(s.total)} active subscribers ` +
        `(${formatCount(s.skipped)} already final or suppressed); nothing was sent or recorded`,
    );
    return lines;
  }
  if (s.alreadyComplete) {
    lines.push(
      s.total === 0 && s.ledger.sent === 0
        ? `${s.editionId}: no active subscribers; nothing to send`
        : `everyone already has ${s.editionId}: ${formatCount(s.ledger.sent)} sent`,
    );
  } else {
    lines.push(
      `${s.editionId}: sent ${formatCount(s.sent)} · bounced ${formatCount(s.bounced)} · failed ${formatCount(s.failed)} · ` +
        `deferred ${formatCount(s.deferred)} · in doubt ${formatCount(s.inDoubt.length)} · skipped ${formatCount(s.skipped)}`,
      `  ${formatCount(s.total)} active subscribers · ${(s.durationMs / 1000).toFixed(1)} s · ${formatCount(s.msgsPerSecond)} msg/s` +
        ` · ledger: ${formatCount(s.ledger.sent)} sent in total`,
    );
  }
  if (s.policyRejections > 0) {
    lines.push(
      `  WARNING: ${s.policyRejections} policy rejection(s) (5.7.x): the receiving servers refused our mail on policy grounds;` +
        ' check SPF, DKIM and DMARC for the From domain and the relay (see `almanac report --failed`)',
    );
  }
  if (s.inDoubt.length > 0) {
    lines.push(`  in doubt (may or may not have received it; not resent unless --resend-unknown):`);
    for (const email of s.inDoubt) lines.push(`    ${email}`);
  }
  if (s.interrupted) lines.push(`  interrupted: everything in flight was recorded. Resume with: ${hint}`);
  else if (s.stopped) lines.push(`  stopped: ${s.stopped.message}`, `  nothing recorded was lost. Resume with: ${hint}`);
  else if (s.deferred > 0) lines.push(`  ${formatCount(s.deferred)} deferred recipient(s) are retried by the next run: ${hint}`);
  if (s.failed > 0 || s.bounced > 0 || s.deferred > 0 || s.inDoubt.length > 0) {
    lines.push(`  details: npm run -s almanac -- report ${s.editionId} --failed`);
  }
  return lines;
}

/** `send <kind> [--date D] [--dry-run] [--to EMAIL] [--resend-unknown] [--force] [--report] [--content DIR]` */
export const sendCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {
    ...contentOption,
    date: { type: 'string' },
    'dry-run': { type: 'boolean' },
    to: { type: 'string' },
    'resend-unknown': { type: 'boolean' },
    force: { type: 'boolean' },
    report: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const kind = kindArg(positionals[0]);
  const date = dateArg(values.date);
  if (values.to !== undefined && !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(values.to)) {
    throw new UsageError(`--to: expected an email address, found ${JSON.stringify(values.to)}`);
  }
  if (values.to && (values['dry-run'] || values['resend-unknown'])) {
    throw new UsageError('--to sends one test copy; it cannot be combined with --dry-run or --resend-unknown');
  }
  const config = ctx.config();

  if (values.report) {
    const { editionOn, nextEdition } = await import('../editions/calendar.ts');
    const slot = date ? editionOn(kind, date, config) : nextEdition(kind, new Date(), config);
    const db = openDb(config.dbPath);
    try {
      const report = editionReport(db, slot.id, true);
      if (!report) {
        ctx.stdout.write(`${slot.id} has not been sent: no ledger rows\n`);
        return 1;
      }
      ctx.stdout.write(formatReport(report));
      return 0;
    } finally {
      db.close();
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
      signal: controller.signal,
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
