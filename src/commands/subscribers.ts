import { readFileSync } from 'node:fs';
import { UsageError, type Command, type CommandContext } from './command.ts';
import { parseEditions } from '../subscribers/csv.ts';
import { isValidEmail, normaliseEmail } from '../subscribers/email.ts';
import { writeExport } from '../store/export.ts';
import type { Store } from '../store/handle.ts';
import { openStore } from '../store/open.ts';
import { SubscriberStore } from '../store/subscribers.ts';
import { editionsOf, STATUSES, type SubscriberState } from '../store/types.ts';
import { importCsv } from '../subscribers/import.ts';
import { parse } from './args.ts';

const ACTION_NAMES = 'add, import, export, remove, list or unsuppress';

/** `subscribers add|import|export|remove|list|unsuppress`: manage the subscriber list. */
export const subscribersCommand: Command = async (ctx) => {
  const [action, ...rest] = ctx.args;
  const run = ACTIONS[action ?? ''];
  if (!run) throw new UsageError(action ? `unknown action '${action}': expected ${ACTION_NAMES}` : `missing action: ${ACTION_NAMES}`);
  const config = ctx.config();
  // SQLite file or PostgreSQL (ALMANAC_DB); an unreachable PostgreSQL stops here with exit 2.
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    return await run(ctx, rest, new SubscriberStore(store), store);
  } finally {
    await store.close();
  }
};

type Action = (ctx: CommandContext, args: string[], store: SubscriberStore, db: Store) => Promise<number>;

function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  return positionals[0]!;
}

const add: Action = async (ctx, args, store) => {
  const { values, positionals } = parse(args, { name: { type: 'string' }, editions: { type: 'string' } });
  const email = onePositional(positionals, 'EMAIL');
  if (!isValidEmail(email)) throw new UsageError(`invalid email address ${JSON.stringify(email)}`);
  const parsed = parseEditions(values.editions ?? '');
  if ('unknown' in parsed) throw new UsageError(`--editions: unknown edition '${parsed.unknown}': expected midweek, sunday or both`);
  // Without --editions, an existing subscriber keeps the editions they chose.
  const existing = values.editions === undefined ? await store.findByEmail(email) : undefined;
  const kept = existing ? editionsOf(existing) : [];
  const { result, subscriber } = await store.add({ email, name: values.name ?? null, editions: kept.length > 0 ? kept : parsed.editions });
  if (result === 'suppressed') {
    ctx.stderr.write(
      `almanac subscribers: refusing to add ${normaliseEmail(email)}: the address is suppressed (erased, hard-bounced or complained) and must not be mailed again` +
        ' (a bounce or complaint can be lifted with `subscribers unsuppress EMAIL`)\n',
    );
    return 1;
  }
  const s = subscriber!;
  const words = { added: 'added', updated: 'updated', unchanged: 'already subscribed, unchanged:' }[result];
  ctx.stdout.write(`${words} ${s.email} (id ${s.id}, ${s.status}, editions: ${editionsOf(s).join(', ')})\n`);
  return 0;
};

const importAction: Action = async (ctx, args, _store, db) => {
  const { positionals } = parse(args, {});
  const file = onePositional(positionals, 'FILE.csv');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new Error(`cannot read ${file}`, { cause });
  }
  const report = await importCsv(db, text);
  for (const issue of report.bad) ctx.stderr.write(`${file}:${issue.line}: ${issue.reason}\n`);
  for (const issue of report.suppressed) ctx.stdout.write(`${file}:${issue.line}: ${issue.reason}\n`);
  ctx.stdout.write(
    `imported ${file}: ${report.added} added, ${report.present} already present (unchanged), ` +
      `${report.suppressed.length} suppressed (skipped), ${report.bad.length} bad row${report.bad.length === 1 ? '' : 's'}\n`,
  );
  return report.bad.length > 0 ? 1 : 0;
};

const exportAction: Action = async (ctx, args, store) => {
  const { values, positionals } = parse(args, { format: { type: 'string', default: 'csv' } });
  if (values.format !== 'csv' && values.format !== 'json') {
    throw new UsageError(`--format: expected csv or json, found ${JSON.stringify(values.format)}`);
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const email = positionals[0];
  const n = await writeExport(store, values.format, (chunk) => ctx.stdout.write(chunk), email);
  if (email !== undefined && n === 0) {
    ctx.stderr.write(`almanac subscribers: no subscriber with address ${normaliseEmail(email)}\n`);
    return 1;
  }
  return 0;
};

const remove: Action = async (ctx, args, store) => {
  const { positionals } = parse(args, {});
  const email = normaliseEmail(onePositional(positionals, 'EMAIL'));
  if (!email) throw new UsageError('missing EMAIL');
  const outcome = await store.erase(email);
  const lines: string[] = [];
  if (outcome.subscriber) {
    const s = outcome.subscriber;
    lines.push(`erased subscriber ${s.id} (${email}): address, name, status, edition choice and consent record deleted`);
  } else {
    lines.push(`no subscriber with address ${email}`);
  }
  lines.push(`anonymised the address in ${outcome.deliveriesAnonymised} delivery record${outcome.deliveriesAnonymised === 1 ? '' : 's'}`);
  lines.push(
    outcome.suppressionAdded
      ? 'kept a SHA-256 hash of the address in the suppression list: it will never be mailed again'
      : 'the address hash was already in the suppression list: it will never be mailed again',
  );
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
};

const list: Action = async (ctx, args, store) => {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, emails: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.emails) return listEmails(ctx, store, !!values.json);
  const counts = await store.counts();
  if (values.json) {
    ctx.stdout.write(`${JSON.stringify(counts)}\n`);
    return 0;
  }
  const lines = [`subscribers: ${counts.total}`, ...STATUSES.map((s) => `  ${s.padEnd(13)} ${counts.byStatus[s]}`)];
  lines.push('active by edition:', `  midweek       ${counts.byEdition.midweek}`, `  sunday        ${counts.byEdition.sunday}`);
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
};

/** The state word of `list --emails`: the status, and a suppression the status does not show. */
function stateText(s: SubscriberState): string {
  if (!s.suppressed || s.status === 'bounced' || s.status === 'complained') return s.status;
  return s.status === 'pending' ? `pending (${s.suppressed}: suppressed until confirmed)` : `${s.status} (suppressed: ${s.suppressed})`;
}

/** `list --emails`: one line per subscriber, `address<TAB>state<TAB>editions`, in id order (`--json`: one array). */
async function listEmails(ctx: CommandContext, store: SubscriberStore, json: boolean): Promise<number> {
  let n = 0;
  for await (const s of store.states()) {
    if (json) ctx.stdout.write(`${n === 0 ? '[' : ','}\n${JSON.stringify(s)}`);
    else ctx.stdout.write(`${s.email}\t${stateText(s)}\t${s.editions.join(',') || '-'}\n`);
    n++;
  }
  if (json) ctx.stdout.write(n === 0 ? '[]\n' : '\n]\n');
  else if (n === 0) ctx.stderr.write('almanac subscribers: no subscribers\n');
  return 0;
}

const UNSUPPRESS_REFUSALS = {
  'not-suppressed': (email: string, status: string) => `${email} is not suppressed (status ${status}); nothing changed`,
  unsubscribed: (email: string, status: string) =>
    `${email} unsubscribed (status ${status}, no edition chosen); unsuppress never revives an unsubscribed person: they can subscribe again through the form`,
  erased: (email: string) => `${email} was erased (only a hash of the address is kept); unsuppress never revives an erased person`,
  unknown: (email: string) => `no subscriber with address ${email}`,
};

const unsuppress: Action = async (ctx, args, store) => {
  const { positionals } = parse(args, {});
  const email = normaliseEmail(onePositional(positionals, 'EMAIL'));
  if (!isValidEmail(email)) throw new UsageError(`invalid email address ${JSON.stringify(positionals[0])}`);
  const outcome = await store.unsuppress(email);
  if (outcome.result !== 'lifted') {
    const status = 'subscriber' in outcome ? outcome.subscriber.status : '';
    ctx.stderr.write(`almanac subscribers: ${UNSUPPRESS_REFUSALS[outcome.result](email, status)}\n`);
    return 1;
  }
  const s = outcome.subscriber;
  const now = s.status === 'active' ? `active again (editions: ${editionsOf(s).join(', ')})` : 'pending: they never confirmed their request, so nothing is sent until they do';
  ctx.stdout.write(`lifted the ${outcome.from === 'bounced' ? 'bounce' : 'complaint'} suppression of ${s.email} (id ${s.id}): ${now}; recorded at ${s.suppressionLifted!.at}\n`);
  return 0;
};

const ACTIONS: Record<string, Action> = { add, import: importAction, export: exportAction, remove, list, unsuppress };
