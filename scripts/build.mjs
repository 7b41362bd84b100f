// @ts-check
/**
 * The compiled CLI: `src/cli.ts` (and everything it imports from `src/` and `emails/`) bundled by
 * esbuild into plain ESM JavaScript that Node runs without a TypeScript loader.
 *
 * Why: tsx compiles every module as it loads and keeps its loader in a thread of its own, which
 * costs a process about 55 MB of memory before it does anything (measured: a sender held 187 MB
 * before its first copy under tsx, 135 MB compiled). `npm run almanac` and `npm start` run the
 * compiled CLI through `scripts/almanac.mjs`; the bench's sender child runs the same build.
 *
 * The build lives in `node_modules/.cache/almanac/<stamp>/`, where the stamp is a hash of every
 * source file's path, size and modification time (and of this file, package.json and tsconfig.json),
 * so an edited source is rebuilt at the next start (under a second) and an unchanged tree starts at once.
 * Packages stay external: the bundle imports them from node_modules as the sources do. A build is
 * written to a temporary directory and renamed into place, so processes starting together never see
 * half a build. Plain JavaScript on purpose: it is what runs before any TypeScript can.
 *
 * `npm run build` builds ahead of time (e.g. in a deploy step, so the service user needs no write
 * access to node_modules) and prints the directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = resolve(import.meta.dirname, '..');

/** The bundle's entry points: output name → source. */
const ENTRIES = {
  cli: 'src/cli.ts',
  // The bench's sender child (scripts/bench.ts): the real send path, run as it ships.
  'bench-sender': 'scripts/bench-sender.ts',
};

/** The Node version the bundle's syntax targets (part of the stamp). */
const TARGET = 'node20';

/** What a build depends on besides packages: a change to any of these makes a new stamp. */
const INPUTS = [
  'src',
  'emails',
  'scripts/bench-sender.ts',
  // The parts of the bench the sender child imports (the rest of scripts/bench/ is the parent's).
  'scripts/bench/cpu-time.ts',
  'scripts/bench/edition.ts',
  'scripts/bench/entry.ts',
  'scripts/build.mjs',
  'package.json',
  'tsconfig.json',
];

/** Builds older than this are removed when a new one is made (a running process keeps its own until then). */
const KEEP_OLD_BUILDS_MS = 24 * 60 * 60 * 1000;

/**
 * Where builds are kept. `ALMANAC_BUILD_DIR` overrides it (tests use it) but must lie inside the
 * checkout: the bundle imports its packages by name, and Node finds them by walking up to node_modules.
 */
function buildsDir(env = process.env) {
  if (!env.ALMANAC_BUILD_DIR) return join(ROOT, 'node_modules', '.cache', 'almanac');
  const dir = resolve(env.ALMANAC_BUILD_DIR);
  if (relative(ROOT, dir).startsWith('..')) throw new Error(`ALMANAC_BUILD_DIR must be inside ${ROOT} (the build finds its packages in its node_modules), not ${dir}`);
  return dir;
}

/**
 * The stamp of the sources under `root`: a hash of each input file's relative path, size and
 * modification time, in a fixed order. Cheap (a stat per file) so every start can check it.
 * @param {string} root
 * @returns {string}
 */
export function buildStamp(root = ROOT) {
  const hash = createHash('sha256');
  hash.update(`node-target:${TARGET}\0`);
  /** @param {string} path */
  const add = (path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      hash.update(`${relative(root, path)}\0missing\0`);
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
      return;
    }
    hash.update(`${relative(root, path)}\0${stat.size}\0${stat.mtimeMs}\0`);
  };
  for (const input of INPUTS) add(join(root, input));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The directory of an up-to-date build of the sources, building it first if needed.
 * @returns {Promise<string>} a directory holding `cli.js` and `bench-sender.js`
 */
export async function ensureBuild() {
  const dir = buildsDir();
  const stamp = buildStamp();
  const target = join(dir, stamp);
  if (existsSync(join(target, 'cli.js'))) return target;

  const partial = join(dir, `.${stamp}-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new Error(`cannot write the compiled CLI to ${dir} (${/** @type {Error} */ (error).message}); run \`npm run build\` as the owner of the checkout`);
  }
  const esbuild = await import('esbuild');
  try {
    const { metafile } = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ENTRIES, // relative to absWorkingDir
      outdir: partial,
      bundle: true,
      splitting: true, // commands stay lazily loaded: `send` does not load the web server
      format: 'esm',
      platform: 'node',
      target: TARGET,
      packages: 'external',
      tsconfig: join(ROOT, 'tsconfig.json'),
      sourcemap: 'linked', // `node --enable-source-maps` maps a stack trace back to the sources
      chunkNames: 'chunks/[name]-[hash]',
      logLevel: 'silent',
      metafile: true,
    });
    // The stamp must see every file in the bundle, or an edit to one would not rebuild it.
    const unstamped = Object.keys(metafile.inputs).filter((file) => !INPUTS.some((input) => file === input || file.startsWith(`${input}/`)));
    if (unstamped.length > 0) throw new Error(`the bundle includes files outside the inputs its stamp covers (INPUTS in scripts/build.mjs): ${unstamped.join(', ')}`);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  } finally {
    await esbuild.stop();
  }
  try {
    renameSync(partial, target);
  } catch (error) {
    // Another process built the same stamp first: theirs is identical.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(join(target, 'cli.js'))) throw error;
  }
  removeOldBuilds(dir, stamp);
  return target;
}

/**
 * @param {string} dir
 * @param {string} keep
 */
function removeOldBuilds(dir, keep) {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (name === keep) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  ensureBuild().then(
    (dir) => process.stdout.write(`${dir}\n`),
    (error) => {
      process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
