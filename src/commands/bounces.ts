import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type Command, type CommandContext } from './command.ts';
import { MAX_BOUNCE_BYTES } from '../bounces/limits.ts';
import { BounceProcessor, type ProcessResult, type RawInput } from '../bounces/process.ts';
import { errorText, oneLine } from '../log.ts';
import { openStore } from '../store/open.ts';
import { parse } from './args.ts';

/** One message's line: its name and what was done, on one line whatever the message held (a subject with a newline). */
function resultLine(r: Pick<ProcessResult, 'name' | 'line'>): string {
  return `${oneLine(r.name)}: ${oneLine(r.line)}\n`;
}

const SUBCOMMANDS = 'ingest [FILE|DIR...] | serve [--port P] [--host H] | fetch';

/** `bounces ingest|serve|fetch`: reads bounces and complaints that arrive after the relay accepted a copy. */
export const bouncesCommand: Command = async (ctx) => {
  const [sub, ...rest] = ctx.args;
  switch (sub) {
    case 'ingest':
      return ingest(ctx, rest);
    case 'serve':
      return serve(ctx, rest);
    case 'fetch':
      return fetchMailbox(ctx, rest);
    default:
      throw new UsageError(sub ? `unknown subcommand '${sub}': expected ${SUBCOMMANDS}` : `missing subcommand: ${SUBCOMMANDS}`);
  }
};

/** Standard input as one message; past the size limit it is read to the end (the writer is not cut off) and dropped. */
async function stdinMessage(): Promise<RawInput> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BOUNCE_BYTES) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return size > MAX_BOUNCE_BYTES ? { name: 'stdin', raw: '', tooLarge: size } : { name: 'stdin', raw: Buffer.concat(chunks) };
}

/** Files named on the command line (a directory: its files, sorted), read one at a time; standard input when none. */
async function* inputs(paths: string[], problems: string[]): AsyncGenerator<RawInput> {
  if (paths.length === 0) {
    yield await stdinMessage();
    return;
  }
  for (const path of paths) {
    let files: string[];
    try {
      files = statSync(path).isDirectory() ? readdirSync(path).sort().map((f) => join(path, f)).filter((f) => statSync(f).isFile()) : [path];
    } catch (error) {
      problems.push(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      continue;
    }
    for (const file of files) {
      let raw: Buffer;
      try {
        const size = statSync(file).size;
        if (size > MAX_BOUNCE_BYTES) {
          yield { name: file, raw: '', tooLarge: size };
          continue;
        }
        raw = readFileSync(file);
      } catch (error) {
        problems.push(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        continue;
      }
      yield { name: file, raw };
    }
  }
}

/**
 * `bounces ingest [FILE|DIR...]`: one line per message (what it was, what was done). Exit 0 when every
 * input was read as a message, even if ignored or unverified; 1 when one was not a message (nothing
 * changed for it), was too large or could not be read.
 */
async function ingest(ctx: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const config = ctx.config();
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  const problems: string[] = [];
  const tally = { changed: 0, unchanged: 0, ignored: 0, unverified: 0, 'not-a-message': 0, 'too-large': 0 };
  try {
    const processor = await BounceProcessor.open(store, config);
    await processor.processAll(inputs(positionals, problems), (r: ProcessResult) => {
      tally[r.outcome]++;
      ctx.stdout.write(resultLine(r));
    });
  } finally {
    await store.close();
  }
  for (const p of problems) ctx.stderr.write(`almanac bounces ingest: ${p}\n`);
  const total = Object.values(tally).reduce((a, b) => a + b, 0);
  ctx.stderr.write(
    `almanac bounces ingest: ${total} message${total === 1 ? '' : 's'}: ${tally.changed} changed, ${tally.unchanged} already known, ${tally.ignored} ignored, ${tally.unverified} unverified, ${tally['not-a-message']} not a message${tally['too-large'] ? `, ${tally['too-large']} too large` : ''}\n`,
  );
  return tally['not-a-message'] > 0 || tally['too-large'] > 0 || problems.length > 0 ? 1 : 0;
}

/** `bounces serve [--port P] [--host H]`: the bounce MX in the foreground until SIGINT/SIGTERM. */
async function serve(ctx: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { port: { type: 'string' }, host: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const config = ctx.config();
  let port = config.bounce.smtpPort ?? 25;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port: expected a TCP port 0–65535, found ${JSON.stringify(values.port)}`);
  }
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    const { startBounceListener } = await import('../bounces/smtp-listener.ts');
    const listener = await startBounceListener(config, store, {
      port,
      host: values.host,
      onResult: (r) => ctx.stdout.write(resultLine(r)),
      onError: (error, name) => ctx.stderr.write(`almanac bounces serve: ${oneLine(name)}: cannot apply it now (answered 451 database unavailable): ${oneLine(errorText(error))}\n`),
    });
    ctx.stdout.write(`almanac bounces serve: receiving mail for ${config.bounce.address} on ${listener.host}:${listener.port}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    ctx.stdout.write('almanac bounces serve: stopping\n');
    await listener.close();
    return 0;
  } finally {
    await store.close();
  }
}

/** `bounces fetch`: one check of ALMANAC_BOUNCE_IMAP_URL; one line per message. Exit 1 when a message was not mail or too large. */
async function fetchMailbox(ctx: CommandContext, args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const config = ctx.config();
  const store = await openStore(config.dbPath, { poolSize: config.dbPoolSize });
  try {
    const { fetchBounces } = await import('../bounces/imap.ts');
    const summary = await fetchBounces(config, store, (r) => ctx.stdout.write(resultLine(r)));
    const { handled, unverified, notMessages, tooLarge } = summary;
    ctx.stderr.write(
      `almanac bounces fetch: ${handled + notMessages + tooLarge} unseen message(s) handled, ${unverified} unverified, ${notMessages} not mail (flagged), ${tooLarge} too large (flagged, not downloaded)\n`,
    );
    return notMessages + tooLarge > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
