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

/** How long the preview's processes get to end after a stop signal before they are killed. */
const STOP_GRACE_MS = 5_000;

/**
 * Starts `email dev` in a process group of its own, so that stopping `npm run dev` stops everything
 * the preview server started: `email dev` runs the server in a child of its own and, on SIGTERM,
 * exits without passing the signal on (checked with react-email 6.11.6), which left a server
 * listening after `kill -TERM` of npm. Standard input is not given: a process group in the background
 * of a terminal may not read it.
 */
function startPreview(args: string[]): ChildProcess {
  return spawn(join(ROOT, 'node_modules', '.bin', 'email'), ['dev', '--dir', 'emails', '--port', '3001', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
}

/** Sends `signal` to every process of the group `pgid`; false when none is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty
  }
}

/**
 * Ends the group once its leader has exited: whatever it left running gets SIGTERM, then SIGKILL
 * after the grace period. Resolves when the group is empty (a process that died but is not yet
 * reaped still counts, so that wait is bounded too).
 */
async function endGroup(pgid: number): Promise<void> {
  const emptyWithin = async (ms: number) => {
    for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
      if (!signalGroup(pgid, 0)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return !signalGroup(pgid, 0);
  };
  if (!signalGroup(pgid, 'SIGTERM') || (await emptyWithin(STOP_GRACE_MS))) return;
  signalGroup(pgid, 'SIGKILL');
  await emptyWithin(1_000);
}

/** Starts the preview server with `args` and the content watcher; resolves with the server's exit code once all its processes are gone. */
export async function main(args: string[] = process.argv.slice(2)): Promise<number> {
  const contentDir = previewContentDir();
  const child = startPreview(args);
  const pgid = child.pid;
  if (pgid === undefined) {
    const error = await new Promise<Error>((done) => child.once('error', done));
    process.stderr.write(`dev: cannot start the preview server: ${error.message}\n`);
    return 1;
  }
  let watcher: TreeWatcher | undefined;
  if (existsSync(contentDir)) {
    watcher = touchOnChange(contentDir, PROPS_MODULE, (file) => process.stdout.write(`    content changed (${file}): reloading the preview\n`));
    process.stdout.write(`    Following content in:        ${contentDir}\n`);
  } else {
    process.stderr.write(`dev: content directory ${contentDir} does not exist; the preview will not follow content edits\n`);
  }
  // The preview's group is not ours, so neither Ctrl-C (which reaches our group) nor a SIGTERM sent
  // to npm or to us reaches it: pass each on to the whole group.
  const forward = (signal: NodeJS.Signals) => signalGroup(pgid, signal);
  const stopGroup = () => signalGroup(pgid, 'SIGKILL'); // we are exiting anyway (an error): leave nothing behind
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, forward);
  process.on('exit', stopGroup);
  const code = await new Promise<number>((done) => {
    child.on('exit', (exitCode, signal) => done(exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 15) : 1)));
  });
  watcher?.close();
  await endGroup(pgid);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.off(signal, forward);
  process.off('exit', stopGroup);
  return code;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
