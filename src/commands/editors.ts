import { UsageError, type Command, type CommandContext } from './command.ts';
import { OPERATOR } from '../store/desk-audit.ts';
import { sessionCounts } from '../store/desk-sessions.ts';
import { addEditor, EDITOR_ROLES, listEditors, removeEditor, type EditorRole } from '../store/editors.ts';
import type { Store } from '../store/handle.ts';
import { openStore } from '../store/open.ts';
import { isValidEmail, normaliseEmail } from '../subscribers/email.ts';
import { parse } from './args.ts';

const ACTION_NAMES = 'add, list or remove';

/** `editors add EMAIL [--name N] [--role editor|admin]` · `editors list` · `editors remove EMAIL`: who may use the desk. */
export const editorsCommand: Command = async (ctx) => {
  const [action, ...rest] = ctx.args;
  const run = ACTIONS[action ?? ''];
  if (!run) throw new UsageError(action ? `unknown action '${action}': expected ${ACTION_NAMES}` : `missing action: ${ACTION_NAMES}`);
  const config = ctx.config();
  const store = await openStore(config.dbPath, { poolSize: Math.min(config.dbPoolSize, 2) });
  try {
    return await run(ctx, rest, store);
  } finally {
    await store.close();
  }
};

type Action = (ctx: CommandContext, args: string[], store: Store) => Promise<number>;

function oneAddress(positionals: string[]): string {
  if (positionals.length === 0) throw new UsageError('missing EMAIL');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  if (!isValidEmail(positionals[0]!)) throw new UsageError(`invalid email address ${JSON.stringify(positionals[0])}`);
  return normaliseEmail(positionals[0]!);
}

const add: Action = async (ctx, args, store) => {
  const { values, positionals } = parse(args, { name: { type: 'string' }, role: { type: 'string' } });
  const email = oneAddress(positionals);
  const role = values.role ?? 'editor';
  if (!(EDITOR_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role: expected editor or admin, found ${JSON.stringify(role)}`);
  if (values.name !== undefined && values.name.length > 200) throw new UsageError('--name: at most 200 characters');
  const { result, editor } = await addEditor(store, { email, name: values.name, role: role as EditorRole }, OPERATOR, new Date());
  const words = { added: 'added', updated: 'updated', unchanged: 'already an editor, unchanged:' }[result];
  const name = editor.name ? ` (${editor.name})` : '';
  ctx.stdout.write(`${words} ${editor.email}${name}, role ${editor.role}; they sign in at /desk/sign-in with a link sent to this address\n`);
  return 0;
};

const list: Action = async (ctx, args, store) => {
  const { positionals } = parse(args, {});
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const editors = await listEditors(store);
  if (editors.length === 0) {
    ctx.stderr.write('almanac editors: no editors yet (add one with `almanac editors add EMAIL --role admin`)\n');
    return 0;
  }
  const sessions = await sessionCounts(store, new Date());
  const width = Math.max(...editors.map((e) => e.email.length));
  for (const e of editors) {
    const open = sessions.get(e.email) ?? 0;
    ctx.stdout.write(`${e.email.padEnd(width)}  ${e.role.padEnd(6)}  ${open} session${open === 1 ? '' : 's'}  added ${e.addedAt.slice(0, 10)}${e.name ? `  ${e.name}` : ''}\n`);
  }
  return 0;
};

const remove: Action = async (ctx, args, store) => {
  const { positionals } = parse(args, {});
  const email = oneAddress(positionals);
  const removed = await removeEditor(store, email, OPERATOR, new Date());
  if (!removed) {
    ctx.stderr.write(`almanac editors: ${email} is not an editor; nothing changed\n`);
    return 1;
  }
  const n = removed.sessionsEnded;
  ctx.stdout.write(`removed ${email} (${removed.editor.role}); ${n} session${n === 1 ? '' : 's'} ended, unused sign-in links cancelled\n`);
  return 0;
};

const ACTIONS: Record<string, Action> = { add, list, remove };
