import { userInfo } from 'node:os';
import type { Config } from '../config.ts';
import { KIND_NAMES, editionById } from '../editions/calendar.ts';
import { LATEST, type EditionChoice } from '../editions/edition-for.ts';
import { formatLocal } from '../editions/time.ts';
import { approve } from '../publish/approve-edition.ts';
import { listEditions, showEdition, type EditionDetail, type EditionEntry } from '../publish/edition-overview.ts';
import type { Store } from '../store/handle.ts';
import { openStore } from '../store/open.ts';
import { EditionStateError, holdEdition, releaseEdition } from '../store/stored-editions.ts';
import { contentDir, contentOption, dateArg, kindArg, parse } from './args.ts';
import { UsageError, type Command, type CommandContext } from './command.ts';

/** `editions list|approve|hold|release|show`: the editions as the editors' objects. */
export const editionsCommand: Command = async (ctx) => {
  const [action, ...rest] = ctx.args;
  const run = ACTIONS[action ?? ''];
  if (!run) throw new UsageError(action ? `unknown action '${action}': expected list, approve, hold, release or show` : 'missing action: list, approve, hold, release or show');
  const config = ctx.config();
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    return await run(ctx, rest, config, store);
  } finally {
    await store.close();
  }
};

type Action = (ctx: CommandContext, args: string[], config: Config, store: Store) => Promise<number>;

/** Who approves, holds or releases: `--by NAME`, else the user running the command. */
function actor(by: string | undefined): string {
  if (by !== undefined) {
    if (by.trim() === '') throw new UsageError('--by: expected a name, found an empty value');
    return by.trim();
  }
  return userInfo().username;
}

/** An edition id argument, checked against the calendar. */
function editionIdArg(positionals: string[], config: Config): string {
  if (positionals.length === 0) throw new UsageError('missing edition id, e.g. 2026-12-09-midweek');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const id = positionals[0]!;
  if (!editionById(id, config)) throw new UsageError(`expected an edition id YYYY-MM-DD-midweek or YYYY-MM-DD-sunday on that kind's send day, found ${JSON.stringify(id)}`);
  return id;
}

/** `--date D`, `--latest` or `--next`: exactly one. */
function approvalChoice(values: { date?: string | boolean; latest?: boolean | string; next?: boolean | string }): EditionChoice {
  const given = [values.date !== undefined, !!values.latest, !!values.next].filter(Boolean).length;
  if (given !== 1) throw new UsageError('name the edition with exactly one of --date YYYY-MM-DD, --latest or --next');
  return values.next ? undefined : values.latest ? LATEST : dateArg(values.date);
}

function localTime(date: Date, config: Config): string {
  return formatLocal(date, config.timezone);
}

const list: Action = async (ctx, args, config, store) => {
  const { values, positionals } = parse(args, { ...contentOption, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const { entries, contentProblems } = await listEditions({ config, store }, { contentDir: contentDir(values, config), now: ctx.now() });
  if (values.json) {
    ctx.stdout.write(`${JSON.stringify(entries.map((e) => entryJson(e, config)))}\n`);
    return 0;
  }
  ctx.stdout.write(`${listLines(entries, config).join('\n')}\n`);
  if (contentProblems > 0) ctx.stderr.write(`the content has ${contentProblems} problem(s): news counts of drafts are unknown (see: almanac content check)\n`);
  return 0;
};

/** One edition as `editions list --json` prints it. */
function entryJson(e: EditionEntry, config: Config) {
  return {
    id: e.id,
    kind: e.kind,
    sendAt: e.sendAt.toISOString(),
    sendAtLocal: localTime(e.sendAt, config),
    state: e.state,
    news: e.news,
    approvedBy: e.approvedBy,
    approvedAt: e.approvedAt,
    changed: e.changed,
  };
}

function listLines(entries: EditionEntry[], config: Config): string[] {
  const rows = entries.map((e) => [
    e.id,
    localTime(e.sendAt, config),
    e.state,
    e.news === null ? '?' : String(e.news),
    e.approvedBy ? `${e.approvedBy} ${e.approvedAt?.slice(0, 16).replace('T', ' ')}Z` : '-',
    e.changed === null ? '-' : e.changed ? 'changed since frozen' : 'unchanged',
  ]);
  const header = ['edition', `send time (${config.timezone})`, 'state', 'news', 'approved', 'files'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

const approveAction: Action = async (ctx, args, config, store) => {
  const { values, positionals } = parse(args, { ...contentOption, date: { type: 'string' }, latest: { type: 'boolean' }, next: { type: 'boolean' }, by: { type: 'string' }, force: { type: 'boolean' } });
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const kind = kindArg(positionals[0]);
  const date = approvalChoice(values);
  const by = actor(values.by);
  const result = await approve({ config, store }, { kind, date, by, contentDir: contentDir(values, config), force: values.force, now: ctx.now() });
  if (result.outcome === 'refused') {
    ctx.stdout.write(`almanac editions approve: ${result.message}\n`);
    return 1;
  }
  ctx.stdout.write(
    `approved ${result.editionId} (${KIND_NAMES[kind]}, sends ${localTime(result.sendAt, config)}): ${result.newsCount} news, composition ${result.hash.slice(0, 12)}, by ${by}\n`,
  );
  if (result.replaced) ctx.stdout.write(`  replaces the edition stored before (composition ${result.replaced.slice(0, 12)}); no copy of it had gone out\n`);
  ctx.stdout.write(`  every copy sends this stored edition; hold it with: npm run -s almanac -- editions hold ${result.editionId}\n`);
  return 0;
};

/** hold / release: a state change with its audit entry; a refusal is exit 1 with the reason. */
function stateAction(change: typeof holdEdition, done: string): Action {
  return async (ctx, args, config, store) => {
    const { values, positionals } = parse(args, { by: { type: 'string' } });
    const id = editionIdArg(positionals, config);
    try {
      const stored = await change(store, id, actor(values.by));
      ctx.stdout.write(`${id} ${done}: it is now ${stored.state}\n`);
      return 0;
    } catch (error) {
      if (!(error instanceof EditionStateError)) throw error;
      ctx.stdout.write(`almanac editions: ${error.message}\n`);
      return 1;
    }
  };
}

const show: Action = async (ctx, args, config, store) => {
  const { values, positionals } = parse(args, { ...contentOption, json: { type: 'boolean' } });
  const id = editionIdArg(positionals, config);
  const detail = (await showEdition({ config, store }, id, { contentDir: contentDir(values, config) }))!;
  if (values.json) {
    ctx.stdout.write(`${JSON.stringify({ ...entryJson(detail, config), subject: detail.subject, preheader: detail.preheader, titles: detail.titles, hash: detail.hash, changes: detail.changes ?? null, history: detail.history })}\n`);
    return 0;
  }
  ctx.stdout.write(`${showLines(detail, config).join('\n')}\n`);
  return 0;
};

function showLines(d: EditionDetail, config: Config): string[] {
  const lines = [
    `${d.id}  ${KIND_NAMES[d.kind]}`,
    `send time  ${localTime(d.sendAt, config)} (${d.sendAt.toISOString()})`,
    `state      ${d.state}${d.approvedBy ? ` (approved by ${d.approvedBy} at ${d.approvedAt})` : ''}`,
    `subject    ${d.subject ?? '?'}`,
    `frozen     ${d.hash ? `composition ${d.hash.slice(0, 12)}${d.changed ? ' — the files now compose it differently' : d.changed === false ? ' — the files still compose it the same' : ''}` : 'not yet (it is composed from the files until it is approved or its first copy is sent)'}`,
  ];
  if (d.changes) lines.push(`changes    ${d.changes}`);
  lines.push('', `News (${d.news ?? '?'}):`, ...d.titles.map((t, i) => `  ${String(i + 1).padStart(2)}. ${t}`), '', 'History:');
  if (d.history.length === 0) lines.push('  (nothing yet)');
  for (const h of d.history) lines.push(`  ${h.at}  ${h.action.padEnd(9)} ${h.who}${h.detail ? `  ${h.detail}` : ''}`);
  return lines;
}

const ACTIONS: Record<string, Action> = {
  list,
  approve: approveAction,
  hold: stateAction(holdEdition, 'held'),
  release: stateAction(releaseEdition, 'released'),
  show,
};
