import type { Config } from '../config.ts';
import { createTransport } from '../delivery/create-transport.ts';
import { jsonLogger } from '../log.ts';
import type { Store } from '../store/handle.ts';
import { openStore } from '../store/open.ts';
import { startWebServer, type RunningWebServer, type StartWebServerOptions } from '../web/start.ts';
import { editionIsEmpty, editionRunner, reviewRunner } from './run-edition.ts';
import { Scheduler } from './scheduler.ts';

export interface ServiceOptions {
  /** Also run the web server (`npm start`); the scheduler alone otherwise (`almanac schedule`). */
  web: boolean;
  contentDir: string;
  port?: number;
  /** Reuse an open store (`npm start` shares it with the bounce listener); it is then not closed here. */
  store?: Store;
}

/**
 * Runs the scheduler (and the web server) on one database and one SMTP pool until SIGINT/SIGTERM,
 * then stops cleanly: the jobs stop, an in-flight send finishes its in-flight messages and records them.
 */
export async function runService(config: Config, options: ServiceOptions): Promise<number> {
  const log = jsonLogger();
  // One Store for the scheduler, its sends and the web server (two SQLite handles in one process would lock each other).
  const store = options.store ?? (await openStore(config.dbPath, { poolSize: config.dbPoolSize }));
  const transport = createTransport(config);
  const scheduler = new Scheduler({
    config,
    store,
    log,
    run: editionRunner(config, { store, transport, contentDir: options.contentDir, log }),
    isEmpty: editionIsEmpty(config, options.contentDir),
    // ALMANAC_EDITORS: each gets a [REVIEW] copy of every upcoming edition, ALMANAC_REVIEW_LEAD_HOURS before it.
    review: config.review.editors.length > 0 ? reviewRunner(config, { store, transport, contentDir: options.contentDir }) : undefined,
  });
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
      if (!options.store) await store.close();
      log('service.stopped');
    })().then(stopped);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  if (options.web) {
    // The web server shares the Store (the web helper's src/web/start.ts takes `store?: Store`).
    const webOptions: StartWebServerOptions & { store: typeof store } = {
      port: options.port,
      contentDir: options.contentDir,
      store,
      transport,
      health: () => ({ ...scheduler.status() }),
    };
    web = await startWebServer(config, webOptions);
    log('web.listening', { url: web.url });
  }
  await scheduler.start();
  // Up until a signal; node-cron's timers and the web server keep the process alive meanwhile.
  await done;
  return 0;
}
