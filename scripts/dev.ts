/**
 * `npm run dev`: the React Email preview server (`email dev --dir emails --port 3001`, extra
 * arguments passed on) plus a watcher on ALMANAC_CONTENT_DIR, so the open preview follows content
 * edits as it follows template edits.
 *
 * How the preview server reloads: it builds a dependency graph of the modules under `emails/`
 * (static imports, including files outside the folder such as scripts/dev-preview-props.ts) and
 * watches those files with chokidar; on a change it tells the open pages over a socket, and each
 * page drops its cached render and renders the template again, which re-runs the props module
 * and so reads the content afresh. Content files are not imports, so nothing saw them change.
 * When one does, we touch the props module (its modification time only; its text and git status
 * stay the same): the server then sees its own kind of change and reloads the templates that use
 * it. This relies only on "a watched module changed", the behaviour template edits already use,
 * not on the server's internals, and the watcher runs for exactly as long as the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { watchTree, type TreeWatcher } from './watch-tree.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The module whose modification the preview server treats as "re-render the editions". */
export const PROPS_MODULE = join(ROOT, 'scripts', 'dev-preview-props.ts');
/** Editors' saves often come as several events (write, rename, chmod): one reload for them all. */
const DEBOUNCE_MS = 200;

/** The content directory the preview reads: ALMANAC_CONTENT_DIR, else ./content. */
export function previewContentDir(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return resolve(loadConfig(env).contentDir);
  } catch {
    // A bad unrelated setting must not stop the preview; the props module falls back the same way.
    return resolve(env.ALMANAC_CONTENT_DIR ?? 'content');
  }
}

/**
 * Watches `dir` and its folders (every way of saving: in place, or a new file renamed over the old
 * one, see watch-tree.ts) and, after each burst of changes, sets the modification time of `target`
 * to now. Returns the watcher; close it to stop.
 */
export function touchOnChange(dir: string, target: string, onTouch: (file: string) => void = () => {}): TreeWatcher {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const watcher = watchTree(dir, (file) => {
    // Name the content file, not the editor's temporary one (vim's 4913, `sed -i`'s sedXXXXXX).
    if (file.endsWith('.md') || !last) last = file;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const now = new Date();
      const file = last;
      last = '';
      utimes(target, now, now).then(
        () => onTouch(file),
        (error: Error) => process.stderr.write(`dev: cannot touch ${target}: ${error.message}\n`),
      );
    }, DEBOUNCE_MS);
  });
  return {
    close: () => {
      watcher.close();
      clearTimeout(timer);
    },
  };
}

/** Starts the preview server with `args` and the content watcher; resolves with the server's exit code. */
export async function main(args: string[] = process.argv.slice(2)): Promise<number> {
  const contentDir = previewContentDir();
  const child: ChildProcess = spawn(join(ROOT, 'node_modules', '.bin', 'email'), ['dev', '--dir', 'emails', '--port', '3001', ...args], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  let watcher: TreeWatcher | undefined;
  if (existsSync(contentDir)) {
    watcher = touchOnChange(contentDir, PROPS_MODULE, (file) => process.stdout.write(`    content changed (${file}): reloading the preview\n`));
    process.stdout.write(`    Following content in:        ${contentDir}\n`);
  } else {
    process.stderr.write(`dev: content directory ${contentDir} does not exist; the preview will not follow content edits\n`);
  }
  // Ctrl-C reaches the whole process group; a SIGTERM sent to us alone is passed on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      watcher?.close();
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      done(code ?? 128 + (signal ? (constants.signals[signal] ?? 15) : 1));
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
