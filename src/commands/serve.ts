import { UsageError, type Command } from './command.ts';
import { startWebServer } from '../web/start.ts';
import { contentOption, parse } from './args.ts';

/** `serve [--port P] [--content DIR]`: runs the web server until SIGINT/SIGTERM. */
export const serveCommand: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, { ...contentOption, port: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port: expected a TCP port 0–65535, found ${JSON.stringify(values.port)}`);
  }
  const config = ctx.config();
  const running = await startWebServer(config, { port, contentDir: values.content });
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
