import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { UsageError, type Command } from '../cli.ts';
import type { Config } from '../config.ts';
import { openDb, type Db } from '../db.ts';
import { createTransport, type Transport } from '../delivery/transport.ts';
import { createWebServer, serverIdle } from '../web/server.ts';
import { contentOption, parse } from './args.ts';

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

/** `--host H`: a bind address (an IP address or a host name), or undefined when not given. */
export function hostOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const host = value.trim();
  if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) {
    throw new UsageError(`--host: expected an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::, found ${JSON.stringify(value)}`);
  }
  return host;
}

/** `serve [--port P] [--host H] [--content DIR]`: runs the web server until SIGINT/SIGTERM. */
export const serveCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, { ...contentOption, port: { type: 'string' }, host: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port: expected a TCP port 0–65535, found ${JSON.stringify(values.port)}`);
  }
  const config = ctx.config();
  const host = hostOption(values.host);
  const running = await startWebServer(config, { port, host, contentDir: values.content });
  ctx.stdout.write(`almanac serve: listening on ${running.url} (public links use ${config.baseUrl})\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      ctx.stdout.write(`almanac serve: ${signal}, stopping\n`);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  await running.close();
  return 0;
};
