import { UsageError, type Command } from './command.ts';
import { startBounceServices } from '../bounces/background.ts';
import { jsonLogger } from '../log.ts';
import { runService } from '../scheduler/service.ts';
import { openStore } from '../store/open.ts';
import { contentDir, contentOption, parse } from './args.ts';
import { hostOption } from './serve.ts';

/** `start [--port P] [--host H]`: the web server and the scheduler together (what `npm start` runs). */
export const startCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, { ...contentOption, port: { type: 'string' }, host: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const config = ctx.config();
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a TCP port 0–65535, found ${JSON.stringify(values.port)}`);
  }
  const host = hostOption(values.host);
  // ONE Store for the whole process: the scheduler, the web server and the bounce ways in (two SQLite
  // handles in one process would block each other).
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    // Bounce listener / IMAP poller when configured (ALMANAC_BOUNCE_SMTP_PORT, ALMANAC_BOUNCE_IMAP_URL).
    const bounces = await startBounceServices(config, store, jsonLogger());
    try {
      // The web server binds to config.host (ALMANAC_HOST); --host overrides it for this run.
      return await runService(host === undefined ? config : { ...config, host }, { web: true, contentDir: contentDir(values, config), port, store });
    } finally {
      await bounces.close();
    }
  } finally {
    await store.close();
  }
};
