// @ts-check
/**
 * The compiled CLI, built at install: `src/cli.ts` (and everything it imports from `src/`, `emails/`
 * and `scripts/`) bundled by esbuild into plain ESM JavaScript in `dist/<stamp>/`, which the
 * launcher (scripts/almanac.mjs) runs without a TypeScript loader.
 *
 * Why compiled: tsx compiles every module as it loads and keeps its loader in a thread of its own,
 * which costs a process about 55 MB of memory before it does anything (a sender held 187 MB before
 * its first copy under tsx, 135 MB compiled) and 0.4 s of start-up.
 *
 * When: `npm ci` / `npm install` run it as `prepare` (so a checkout is ready to run), `npm run build`
 * on demand, the test suite's global setup before the tests. Never at run time: the running program
 * only reads a build (see scripts/almanac.mjs).
 *
 * The stamp is a hash of the content of every file esbuild read (hashed as the plugin below hands
 * it to esbuild, so an edit during the build cannot make a build that claims newer sources) and of
 * this file, package.json and tsconfig.json. Packages stay external: the bundle imports them from
 * node_modules as the sources do. A build is written to a temporary directory, made writable by its
 * owner only (0755/0644, whatever the umask), renamed into place, and then `dist/current` is
 * replaced in one rename, so a starting process never sees half a build. The build before stays
 * (a running service may still load a command's chunk from it); older ones are removed.
 *
 * `node scripts/build.mjs` builds and prints the directory. `--prepare` (the `prepare` script)
 * skips the build when the current one matches the sources, and when esbuild is not installed
 * (`npm ci --omit=dev`) says so and leaves `dist/` as it is instead of failing the install.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hash } from 'node:crypto';
import { extname, isAbsolute, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, ROOT, changedInput, contentHash, currentBuild, isStamp, stampOf } from './build-manifest.mjs';
import { unsafeBuild } from './build-safety.mjs';

/** The bundle's entry points: output name → source. */
const ENTRIES = {
  cli: 'src/cli.ts',
  // The bench's sender child (scripts/bench.ts): the real send path, run as it ships.
  'bench-sender': 'scripts/bench-sender.ts',
};

/** The Node version the bundle's syntax targets (part of the stamp). */
const TARGET = 'node20';

/** Files that shape the bundle besides the sources esbuild reads. */
const SETTINGS = ['scripts/build.mjs', 'package.json', 'tsconfig.json'];

/**
 * How esbuild reads each kind of source the plugin hands it.
 * @type {Record<string, import('esbuild').Loader>}
 */
const LOADERS = { '.ts': 'ts', '.mts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.jsx': 'jsx', '.json': 'json' };

/** Leftovers of a build that died are removed after this long (a running build is never that slow). */
const PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * The current build when it matches the sources and may be run, else a new one.
 * @returns {Promise<string>} the build's directory, holding `cli.js` and `bench-sender.js`
 */
export async function ensureBuild() {
  const current = currentBuild();
  if ('dir' in current && !changedInput(current.manifest) && !unsafeBuild(current.dir, DIST, join(ROOT, 'node_modules'))) return current.dir;
  return build();
}

/**
 * Builds the sources into `dist/<stamp>/` and makes it the current build.
 * @returns {Promise<string>} the build's directory
 */
export async function build() {
  const esbuild = await loadEsbuild();
  if (!esbuild) throw new Error('esbuild is not installed (a production install): build where the dev dependencies are installed (`npm ci`)');
  mkdirSync(DIST, { recursive: true });
  chmodSync(DIST, 0o755);
  const partial = join(DIST, `.partial-${process.pid}-${Date.now()}`);
  /** @type {Record<string, string>} */
  const inputs = {};
  for (const path of SETTINGS) inputs[path] = contentHash(join(ROOT, path));
  try {
    await esbuild.build({
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
      plugins: [hashSources(inputs)],
    });
    const stamp = stampOf(inputs, TARGET);
    const sorted = Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(join(partial, 'build.json'), `${JSON.stringify({ stamp, target: TARGET, inputs: sorted }, null, 2)}\n`);
    ownerWritableOnly(partial);
    const dir = join(DIST, stamp);
    replaceDir(partial, dir);
    const previous = currentBuild();
    pointCurrent(stamp);
    removeOldBuilds(stamp, 'dir' in previous ? previous.manifest.stamp : undefined);
    return dir;
  } finally {
    rmSync(partial, { recursive: true, force: true });
    await esbuild.stop();
  }
}

/**
 * An esbuild plugin that reads each source itself and records the hash of exactly the content
 * esbuild compiles, so the manifest can never describe a file as it was after the build read it.
 * @param {Record<string, string>} inputs filled in: path relative to the checkout → content hash
 * @returns {import('esbuild').Plugin}
 */
function hashSources(inputs) {
  return {
    name: 'hash-sources',
    setup(plugin) {
      plugin.onLoad({ filter: /.*/, namespace: 'file' }, ({ path }) => {
        const loader = LOADERS[extname(path)];
        const name = relative(ROOT, path);
        if (!loader) throw new Error(`the bundle reads ${name}, a kind of file the build does not know (LOADERS in scripts/build.mjs)`);
        if (name.startsWith('..') || isAbsolute(name)) throw new Error(`the bundle reads ${path}, outside the checkout`);
        const contents = readFileSync(path);
        inputs[name.split('\\').join('/')] = hash('sha256', contents);
        return { contents, loader };
      });
    },
  };
}

/**
 * Folders 0755 and files 0644 under `dir`, whatever the umask: the launcher refuses a build that
 * anyone but its owner could change.
 * @param {string} dir
 */
function ownerWritableOnly(dir) {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) ownerWritableOnly(path);
    else chmodSync(path, 0o644);
  }
}

/**
 * Moves `from` to `to`, replacing a build already there (the same sources built again, e.g. to repair
 * one whose modes were changed).
 * @param {string} from
 * @param {string} to
 */
function replaceDir(from, to) {
  const old = `${join(DIST, '.old')}-${process.pid}-${Date.now()}`;
  try {
    renameSync(to, old);
  } catch {
    // Nothing there yet.
  }
  renameSync(from, to);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Writes `dist/current` by a rename, so a reader sees the old stamp or the new one, never a part.
 * @param {string} stamp
 */
function pointCurrent(stamp) {
  const next = join(DIST, `.current-${process.pid}`);
  writeFileSync(next, `${stamp}\n`, { mode: 0o644 });
  chmodSync(next, 0o644);
  renameSync(next, join(DIST, 'current'));
}

/**
 * Removes every build but the current one and the one before it, and leftovers of builds that died.
 * @param {string} keep
 * @param {string | undefined} previous
 */
function removeOldBuilds(keep, previous) {
  const now = Date.now();
  for (const name of readdirSync(DIST)) {
    const path = join(DIST, name);
    try {
      const old = isStamp(name) && name !== keep && name !== previous;
      const dead = /^\.(partial|old|current)-/.test(name) && now - statSync(path).mtimeMs > PARTIAL_MAX_AGE_MS;
      if (old || dead) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another build meanwhile.
    }
  }
}

/** esbuild, or undefined when it is not installed (`npm ci --omit=dev`). */
async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch {
    return undefined;
  }
}

/** `node scripts/build.mjs [--prepare]`: see the comment at the top. */
async function main(args = process.argv.slice(2)) {
  const prepare = args.includes('--prepare');
  if (prepare && !(await loadEsbuild())) {
    const current = currentBuild();
    const ready = 'dir' in current && !changedInput(current.manifest);
    process.stderr.write(
      ready
        ? `build: esbuild is not installed (a production install); the build in ${current.dir} matches the sources\n`
        : `build: esbuild is not installed (a production install), so nothing was built and ${'dir' in current ? `${current.dir} does not match the sources` : current.missing}: build where the dev dependencies are installed (README: Deploy)\n`,
    );
    return;
  }
  const dir = prepare ? await ensureBuild() : await build();
  process.stdout.write(`${dir}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
