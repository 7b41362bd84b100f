/**
 * How a bench script starts: `main()` only when the file is the program Node was started with
 * (STYLE.md point 10: scripts are importable), `--help` for its usage, and one way of failing.
 * The compiled sender child (scripts/bench-sender.ts) uses `isMain` too, so this file imports
 * nothing but Node.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * True when the module at `url` (its `import.meta.url`) is the script Node was started with.
 * The path is resolved first: Node names the main module by its real path, and `node_modules`
 * (where the compiled sender lives) may be a link, as it is in a git worktree sharing one install.
 */
export function isMain(url: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/** A mistake on the command line (or a target the bench refuses): printed as one line, without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Errors the bench reports as the user's mistake: its own and node:util parseArgs's. */
function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || (error instanceof Error && String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS_'));
}

/**
 * Runs a bench's `main` with the command line. `--help` (or `-h`) prints `usage` instead. A failure
 * prints `name: message` (and the stack unless it is a usage error) to stderr and sets exit code 1.
 */
export async function runMain(name: string, usage: string, main: (argv: string[]) => Promise<unknown>, argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage.trim()}\n`);
    return;
  }
  try {
    await main(argv);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const mistake = isUsageError(e);
    const head = `${e.name}: ${e.message}`;
    // The stack's frames: its first lines repeat the message (which may span several lines).
    const frames = mistake ? '' : e.stack?.startsWith(head) ? e.stack.slice(head.length).replace(/^\n/, '') : (e.stack ?? '');
    const cause = e.cause instanceof Error ? `\n  cause: ${e.cause.message}` : '';
    process.stderr.write(`${name}: ${e.message}${mistake ? ' (see --help)' : ''}${cause}\n${frames ? `${frames}\n` : ''}`);
    process.exitCode = 1;
  }
}
