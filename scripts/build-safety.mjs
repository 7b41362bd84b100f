// @ts-check
/**
 * Whether a build may be run. The launcher runs code from `dist/` and packages from `node_modules/`;
 * if another user could change either, running a command would run their code with our rights (the
 * old run-time cache in node_modules had exactly that hole for a service user allowed to write it).
 * So, as ssh does for `authorized_keys`:
 * - the build itself (its directory, every file and folder in it, `dist/` and `dist/current`) must
 *   belong to the current user or root and be writable by its owner only: the build writes it so
 *   (0755/0644), whatever the umask;
 * - every directory above `dist/` and `node_modules/` up to `/` must belong to the current user or
 *   root and be writable by no one else: not by other users (unless sticky, like /tmp, where no one
 *   can rename what is not theirs), nor by a group other than the user's own (a private group, as
 *   umask 002 systems give every user, is the user).
 * Node's own modules only: this runs before any package is loaded.
 */
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';

const STICKY = 0o1000;

/** @typedef {{ uid: number, gid: number }} Runner */

/**
 * Why the build in `dir` must not be run, or undefined when it may (always undefined where there
 * are no Unix owners, i.e. on Windows).
 * @param {string} dir the build (`dist/<stamp>`)
 * @param {string} dist the builds' directory (`dist/`)
 * @param {string} nodeModules the packages the build imports
 * @returns {string | undefined}
 */
export function unsafeBuild(dir, dist, nodeModules) {
  if (!process.getuid || !process.getgid) return undefined;
  const runner = { uid: process.getuid(), gid: process.getgid() };
  try {
    const build = realpathSync(dir);
    const builds = realpathSync(dist);
    const strict = [builds, join(builds, 'current'), ...tree(build)];
    for (const path of strict) {
      const problem = strictProblem(path, runner);
      if (problem) return problem;
    }
    for (const path of parents(builds, nodeModules)) {
      const problem = parentProblem(path, runner);
      if (problem) return problem;
    }
  } catch (error) {
    return `cannot check it: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

/**
 * `dir` and everything in it.
 * @param {string} dir
 * @returns {string[]}
 */
function tree(dir) {
  const paths = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) paths.push(...tree(path));
    else paths.push(path);
  }
  return paths;
}

/**
 * The directories above `builds` and the real `nodeModules` with theirs, up to `/`, each once.
 * @param {string} builds
 * @param {string} nodeModules
 */
function parents(builds, nodeModules) {
  const paths = new Set();
  /** @param {string} from */
  const up = (from) => {
    for (let path = from; !paths.has(path); path = dirname(path)) {
      paths.add(path);
      if (dirname(path) === path) break;
    }
  };
  up(dirname(builds));
  try {
    up(realpathSync(nodeModules));
  } catch {
    // No node_modules here: the import of a package will say so.
  }
  return [...paths];
}

/**
 * @param {string} path
 * @param {Runner} runner
 */
function strictProblem(path, runner) {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return `${path} is a symbolic link (a build holds only files and folders)`;
  const owner = ownerProblem(path, stat.uid, runner);
  if (owner) return owner;
  if (stat.mode & 0o022) return `${path} is writable by ${stat.mode & 0o002 ? 'other users' : 'its group'} (mode ${mode(stat.mode)})`;
  return undefined;
}

/**
 * @param {string} path
 * @param {Runner} runner
 */
function parentProblem(path, runner) {
  const stat = lstatSync(path);
  const owner = ownerProblem(path, stat.uid, runner);
  if (owner) return owner;
  if (stat.mode & STICKY) return undefined;
  if (stat.mode & 0o002) return `${path} is writable by other users (mode ${mode(stat.mode)})`;
  if (stat.mode & 0o020 && stat.gid !== runner.gid) return `${path} is writable by group ${stat.gid}, which is not the user's own (mode ${mode(stat.mode)})`;
  return undefined;
}

/**
 * @param {string} path
 * @param {number} uid
 * @param {Runner} runner
 */
function ownerProblem(path, uid, runner) {
  if (uid === runner.uid || uid === 0) return undefined;
  const runs = runner.uid === 0 ? 'root, who runs it' : `the user who runs it (${userName()}, uid ${runner.uid}) or root`;
  return `${path} belongs to uid ${uid}, not to ${runs}`;
}

/** @param {number} bits */
function mode(bits) {
  return (bits & 0o7777).toString(8).padStart(4, '0');
}

function userName() {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
