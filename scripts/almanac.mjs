#!/usr/bin/env node
// @ts-check
/**
 * `almanac` (`npm run -s almanac -- <command>`, `npm start`, the package's bin): runs the CLI in this
 * process, from the build that `npm ci` made (scripts/build.mjs), or from the sources while they
 * differ from it.
 *
 * - The build in `dist/` whose manifest matches the sources' content runs, after a check that no
 *   other user can change it (scripts/build-safety.mjs); a build that fails the check is refused
 *   with the reason and exit 1, never run.
 * - When the sources changed since the build (an edit, a `git pull`), or there is no build, the
 *   sources run under tsx (a dev dependency), with one line on stderr that says so: an edit never
 *   needs a rebuild to take effect, and stdout stays the command's own. Without tsx (a production
 *   install) it stops with exit 1 and says to build.
 * Nothing here writes a file: the running program never makes code, it only reads a build made at
 * install. Node's own modules only, so a production install needs no build tool.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, ROOT, changedInput, currentBuild } from './build-manifest.mjs';
import { unsafeBuild } from './build-safety.mjs';

/** @typedef {{ runCli(argv: string[]): void }} Cli */

/**
 * @param {string} message
 * @returns {never}
 */
function stop(message) {
  process.stderr.write(`almanac: ${message}\n`);
  process.exit(1);
}

/** Why the sources must run instead of the build, or the build to run. */
function chooseBuild() {
  const current = currentBuild();
  if (!('dir' in current)) return { reason: `${current.missing} (\`npm run build\` makes one)` };
  const changed = changedInput(current.manifest);
  if (changed) return { reason: `${changed} changed since the build in ${current.dir} (\`npm run build\` makes a new one)` };
  return { dir: current.dir };
}

/**
 * The sources under tsx, in this process. tsx's cache of compiled files is turned off: it lives in
 * the shared temporary directory (/tmp/tsx-<uid>), where another user could have put code first.
 * @param {string} reason
 * @returns {Promise<Cli>}
 */
async function loadSources(reason) {
  /** @type {{ register(): unknown }} */
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    return stop(`${reason}, and tsx is not installed to run the sources (a production install): build where the dev dependencies are installed (README: Deploy)`);
  }
  process.stderr.write(`almanac: running the sources: ${reason}\n`);
  process.env.TSX_DISABLE_CACHE = '1';
  tsx.register();
  return import(pathToFileURL(join(ROOT, 'src', 'cli.ts')).href);
}

const choice = chooseBuild();
/** @type {Cli} */
let cli;
if (choice.dir) {
  const unsafe = unsafeBuild(choice.dir, DIST, join(ROOT, 'node_modules'));
  if (unsafe) stop(`refusing to run the build in ${choice.dir}: ${unsafe}. Only the user who runs it or root may be able to change the build, dist/ and the directories above them; fix that (\`npm run build\` as that user remakes the build itself).`);
  cli = await import(pathToFileURL(join(choice.dir, 'cli.js')).href);
} else {
  cli = await loadSources(choice.reason ?? 'no build');
}
cli.runCli(process.argv.slice(2));
