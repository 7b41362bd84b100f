import type { Command, CommandContext } from './command.ts';
import { UsageError } from './command.ts';
import { copyDatabase, CopyRefusedError } from '../store/copy.ts';
import { isPostgresUrl, redactUrl } from '../store/dialect.ts';
import { migrate, schemaVersion, SchemaTooNewError } from '../store/migrations.ts';
import type { Store } from '../store/handle.ts';
import { openStore, StoreUnavailableError } from '../store/open.ts';
import { parse } from './args.ts';

/** `db migrate` | `db copy --to URL`: the store's schema and moving from SQLite to PostgreSQL. */
export const dbCommand: Command = async (ctx) => {
  const [action, ...rest] = ctx.args;
  if (action === 'migrate') return migrateAction(ctx, rest);
  if (action === 'copy') return copyAction(ctx, rest);
  throw new UsageError(action ? `unknown db action '${action}': expected migrate or copy` : 'missing db action: migrate or copy');
};

/** Applies pending migrations; prints the schema version before and after. */
async function migrateAction(ctx: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const config = ctx.config();
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize, migrate: false });
  try {
    const before = await schemaVersion(store);
    ctx.stdout.write(`${store.label}: schema version before: ${before}\n`);
    const { after } = await migrate(store);
    ctx.stdout.write(`${store.label}: schema version after: ${after}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SchemaTooNewError)) throw error;
    ctx.stderr.write(`almanac db migrate: ${error.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

/** Opens (and migrates) the `--to` database; an unreachable one or a newer schema is reported naming `--to`, not ALMANAC_DB. */
async function openTarget(ctx: CommandContext, to: string): Promise<Store | undefined> {
  try {
    return await openStore(to, { poolSize: 2, source: '--to' });
  } catch (error) {
    if (error instanceof StoreUnavailableError) ctx.stderr.write(`almanac db copy: ${error.message}\n`);
    else if (error instanceof SchemaTooNewError) ctx.stderr.write(`almanac db copy: --to ${redactUrl(to)}: ${error.message}\n`);
    else throw error;
    return undefined;
  }
}

/** Copies the configured SQLite database into an empty PostgreSQL database and checks the row counts. */
async function copyAction(ctx: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { to: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const to = values.to;
  if (!to) throw new UsageError('missing --to postgres://user:pass@host:5432/db');
  if (!isPostgresUrl(to) || !URL.canParse(to)) throw new UsageError(`--to: expected a postgres:// or postgresql:// URL, found ${JSON.stringify(redactUrl(to))}`);
  const config = ctx.config();
  if (isPostgresUrl(config.dbPath)) {
    throw new UsageError('db copy reads the configured SQLite database, but ALMANAC_DB is a PostgreSQL URL; set ALMANAC_DB to the SQLite file');
  }
  const source = await openStore(config.dbPath);
  try {
    const target = await openTarget(ctx, to);
    if (!target) return 2;
    try {
      ctx.stdout.write(`copying ${source.label} → ${target.label}\n`);
      const counts = await copyDatabase(source, target, (table, rows) => ctx.stdout.write(`  ${table.padEnd(13)} ${rows} rows\n`));
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      ctx.stdout.write(`copied ${total} rows; row counts match in every table\n`);
      return 0;
    } catch (error) {
      if (!(error instanceof CopyRefusedError)) throw error;
      ctx.stderr.write(`almanac db copy: ${error.message}\n`);
      return 1;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
