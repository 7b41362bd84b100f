import type { Config } from '../config.ts';
import { UsageError, type Command } from './command.ts';
import { KIND_NAMES, nextInstants } from '../editions/calendar.ts';
import { contentDir, contentOption, parse } from './args.ts';

/** `schedule [--next]`: runs the scheduler in the foreground, or prints the next send instants. */
export const scheduleCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, { ...contentOption, next: { type: 'boolean' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const config = ctx.config();
  if (values.next) {
    const now = ctx.now();
    ctx.stdout.write(values.json ? `${JSON.stringify(nextInstants(config, now))}\n` : nextTable(config, now));
    return 0;
  }
  const { runService } = await import('../scheduler/service.ts');
  return runService(config, { web: false, contentDir: contentDir(values, config) });
};

function nextTable(config: Config, now: Date): string {
  const rows = Object.entries(nextInstants(config, now)).map(
    ([kind, n]) => `${KIND_NAMES[kind as keyof typeof KIND_NAMES].padEnd(8)} ${n.local.padEnd(24)} ${n.utc}  ${n.id}`,
  );
  const header = `${'edition'.padEnd(8)} ${`local (${config.timezone})`.padEnd(24)} ${'UTC'.padEnd(24)}  id`;
  return `${[header, ...rows].join('\n')}\n`;
}
