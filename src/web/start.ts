import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { openDb, type Db } from '../db.ts';
import { createTransport } from '../delivery/create-transport.ts';
import type { Transport } from '../delivery/transport.ts';
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
  /** Reuse an open database instead of opening config.dbPath (it is then not closed by close()). */
  db?: Db;
  /** Reuse a transport instead of createTransport(config) (it is then not closed by close()). */
  transport?: Transport;
}

/** A listening web server. */
export interface RunningWebServer {
  server: Server;
  url: string;
  /** Stops accepting connections, waits for confirmation emails in flight, closes what it opened. */
  close(): Promise<void>;
}

/** Opens the database and transport and starts the web server; resolves once it listens. */
export async function startWebServer(config: Config, opts: StartWebServerOptions = {}): Promise<RunningWebServer> {
  const db = opts.db ?? openDb(config.dbPath);
  const transport = opts.transport ?? createTransport(config);
  const server = createWebServer({ config, db, transport, contentDir: opts.contentDir ?? config.contentDir, health: opts.health });
  const port = opts.port ?? config.port;
  const host = opts.host ?? config.host;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    if (!opts.transport) await transport.close();
    if (!opts.db) db.close();
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
        if (!opts.transport) await transport.close();
        if (!opts.db) db.close();
      })()),
  };
}
