#!/usr/bin/env -S npx tsx
import { pathToFileURL } from 'node:url';
import { UsageError, type Command, type CommandContext } from './commands/command.ts';
import { commandClock, ConfigError, loadConfig, loadDotEnv, type Config } from './config.ts';
import { ContentError } from './content/loader.ts';
import { errorText } from './log.ts';

const COMMANDS: Record<string, { usage: string; load: () => Promise<Command> }> = {
  content: {
    usage: 'content check [--content DIR]',
    load: async () => (await import('./commands/content.ts')).contentCommand,
  },
  compose: {
    usage: 'compose <midweek|sunday> [--date YYYY-MM-DD | --latest] [--content DIR] [--json]',
    load: async () => (await import('./commands/compose.ts')).composeCommand,
  },
  preview: {
    usage: 'preview <midweek|sunday> [--date D | --latest] [--out DIR] [--content DIR] [--force]',
    load: async () => (await import('./commands/preview.ts')).previewCommand,
  },
  subscribers: {
    usage: 'subscribers add EMAIL [--name N] [--editions midweek,sunday] | import FILE.csv | export [--format csv|json] | remove EMAIL | list [--emails] [--json] | unsuppress EMAIL',
    load: async () => (await import('./commands/subscribers.ts')).subscribersCommand,
  },
  editors: {
    usage: 'editors add EMAIL [--name N] [--role editor|admin] | list | remove EMAIL   (who may use the desk)',
    load: async () => (await import('./commands/editors.ts')).editorsCommand,
  },
  send: {
    usage: 'send <midweek|sunday> [--date D | --latest] [--now] [--dry-run] [--to EMAIL] [--resend-unknown] [--force] [--report] [--content DIR]',
    load: async () => (await import('./commands/send.ts')).sendCommand,
  },
  editions: {
    usage: 'editions list [--json] | approve <midweek|sunday> (--date D | --latest | --next) [--by NAME] [--force] | hold ID | release ID | show ID [--json]',
    load: async () => (await import('./commands/editions.ts')).editionsCommand,
  },
  report: {
    usage: 'report <edition-id> [--failed] [--json] [--html FILE]',
    load: async () => (await import('./commands/report.ts')).reportCommand,
  },
  schedule: {
    usage: 'schedule [--next] [--content DIR]',
    load: async () => (await import('./commands/schedule.ts')).scheduleCommand,
  },
  serve: {
    usage: 'serve [--port P] [--host H] [--content DIR]',
    load: async () => (await import('./commands/serve.ts')).serveCommand,
  },
  bounces: {
    usage: 'bounces ingest [FILE|DIR...] | serve [--port P] [--host H] | fetch   (bounces and complaints after delivery)',
    load: async () => (await import('./commands/bounces.ts')).bouncesCommand,
  },
  start: {
    usage: 'start [--port P] [--host H] [--content DIR]   (web server + scheduler)',
    load: async () => (await import('./commands/start.ts')).startCommand,
  },
  db: {
    usage: 'db migrate | db copy --to postgres://…',
    load: async () => (await import('./commands/db.ts')).dbCommand,
  },
};

function usage(): string {
  return ['usage: almanac <command>', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`)].join('\n');
}

/** Runs the CLI with argv (without node and script); returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`almanac: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  let config: Config | undefined;
  let clock: (() => Date) | undefined;
  const ctx: CommandContext = {
    args,
    config: () => (config ??= loadConfig(env)),
    now: () => (clock ??= commandClock(env))(),
    stdout: process.stdout,
    stderr: process.stderr,
  };
  try {
    const command = await entry.load();
    return await command(ctx);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`almanac: configuration error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`almanac ${name}: ${error.message}\nusage: almanac ${entry.usage}\n`);
      return 2;
    }
    if (error instanceof ContentError) {
      process.stderr.write(`almanac ${name}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`almanac ${name}: ${describeError(error)}\n`);
    return 1;
  }
}

/** An error and its causes on one line each. */
export function describeError(error: unknown): string {
  return errorText(error, '\n  caused by: ');
}

/**
 * The program: `almanac <argv>` with the process's streams and `.env`, setting the exit code.
 * Run by `scripts/almanac.mjs` from the compiled build (`npm run almanac`, `npm start`), or as this file under tsx.
 */
export function runCli(argv: string[]): void {
  // `almanac subscribers export | head`: a closed pipe ends the output, not the program with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  loadDotEnv();
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`almanac: ${describeError(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runCli(process.argv.slice(2));
