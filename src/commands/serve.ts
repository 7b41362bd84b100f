import { isIP } from 'node:net';
import { UsageError, type Command } from './command.ts';
import { startWebServer } from '../web/start.ts';
import { contentOption, parse } from './args.ts';

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
