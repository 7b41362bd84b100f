import type { Config } from '../config.ts';
import { openDb } from '../db.ts';
import { createTransport } from '../delivery/create-transport.ts';
import { jsonLogger } from '../log.ts';
import { startWebServer, type RunningWebServer } from '../web/start.ts';
import { editionRunner } from './run-edition.ts';
import { Scheduler } from './scheduler.ts';

export interface ServiceOptions {
  /** Also run the web server (`npm start`); the scheduler alone otherwise (`almanac schedule`). */
  web: boolean;
  contentDir: string;
  port?: number;
}

/**
 * Runs the scheduler (and the web server) on one database and one SMTP pool until SIGINT/SIGTERM,
 * then stops cleanly: the jobs stop, an in-flight send finishes its in-flight messages and records them.
 */
export async function runService(config: Config, options: ServiceOptions): Promise<number> {
  const log = jsonLogger();
  const db = openDb(config.dbPath);
  const transport = createTransport(config);
  const scheduler = new Scheduler({ config, db, log, run: editionRunner(config, { db, transport, contentDir: options.contentDir, log }) });
  let web: RunningWebServer | undefined;

  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) {
      log('service.force-exit', { level: 'warn', signal });
      process.exit(1);
    }
    log('service.stopping', { signal });
    stopping = (async () => {
      await scheduler.stop();
      await web?.close();
      await transport.close();
      db.close();
      log('service.stopped');
    })().then(stopped);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  if (options.web) {
    web = await startWebServer(config, {
      port: options.port,
      contentDir: options.contentDir,
      db,
      transport,
      health: () => ({ ...scheduler.status() }),
    });
    log('web.listening', { url: web.url });
  }
  await scheduler.start();
  // Up until a signal; node-cron's timers and the web server keep the process alive meanwhile.
  await done;
  return 0;
}
