import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { createTransport } from '../delivery/create-transport.ts';
import type { Transport } from '../delivery/transport.ts';
import type { Store } from '../store/handle.ts';
import { openStore } from '../store/open.ts';
import { createTrackingDeps } from '../tracking/setup.ts';
import { serverLog } from './app.ts';
import { createWebServer, serverIdle } from './server.ts';

/** Options for startWebServer. */
export interface StartWebServerOptions {
  /** @default config.port */
  port?: number;
  /** @default config.host (ALMANAC_HOST, '0.0.0.0') */
  host?: string;
  /** @default config.contentDir */
  contentDir?: string;
  /** Scheduler state for /healthz. */
  health?: () => Record<string, unknown>;
  /** Reuse an open store instead of opening config.dbPath (it is then not closed by close()). */
  store?: Store;
  /** Reuse a transport instead of createTransport(config) (it is then not closed by close()). */
  transport?: Transport;
  /** The server's idea of now (tests fix it). @default () => new Date() */
  clock?: () => Date;
}

/** A listening web server. */
export interface RunningWebServer {
  server: Server;
  url: string;
  /** Stops accepting connections, waits for confirmation emails in flight, closes what it opened. */
  close(): Promise<void>;
}

/**
 * Opens the store (SQLite or PostgreSQL, as ALMANAC_DB says) and the transport and starts the web
 * server; resolves once it listens. An unreachable PostgreSQL throws StoreUnavailableError (exit 2).
 */
export async function startWebServer(config: Config, opts: StartWebServerOptions = {}): Promise<RunningWebServer> {
  const owned = !opts.store;
  const store = opts.store ?? (await openStore(config.dbPath, { poolSize: config.dbPoolSize }));
  const transport = opts.transport ?? createTransport(config);
  // Always served, even with ALMANAC_TRACKING=off: links in copies already sent keep working.
  const tracking = await createTrackingDeps(store, config, { log: serverLog });
  const release = async () => {
    await tracking.recorder.close(); // writes the last held events
    if (!opts.transport) await transport.close();
    if (owned) await store.close();
  };
  let server: Server;
  const port = opts.port ?? config.port;
  const host = opts.host ?? config.host;
  try {
    server = await createWebServer({ config, store, transport, contentDir: opts.contentDir ?? config.contentDir, health: opts.health, tracking, clock: opts.clock });
  } catch (error) {
    await release();
    throw error;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    await release();
    throw new Error(`cannot listen on ${host}:${port}`, { cause });
  }
  const address = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shown}:${address.port}`,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await serverIdle(server);
        await release();
      })()),
  };
}
