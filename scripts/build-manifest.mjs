// @ts-check
/**
 * Where the compiled CLI lives and how to tell whether it still matches the sources. Shared by the
 * build (scripts/build.mjs, which writes it) and the launcher (scripts/almanac.mjs, which reads it);
 * only Node's own modules, so the launcher needs no package.
 *
 * Layout: `dist/current` names the current build (its stamp); `dist/<stamp>/` holds `cli.js`,
 * `bench-sender.js`, `chunks/` and `build.json`, the manifest: the content hash of every file the
 * bundle was made from (what esbuild read, plus the build's own settings). A build never changes
 * once made; a new one gets a new directory and `current` moves to it in one rename.
 */
import { createHash, hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The checkout: the directory above scripts/. */
export const ROOT = resolve(import.meta.dirname, '..');

/** The directory of builds, `dist/` of the checkout. */
export const DIST = join(ROOT, 'dist');

/** A stamp as the build writes it (anything else in `dist/current` is refused, so it cannot point outside `dist/`). */
const STAMP = /^[0-9a-f]{20}$/;

/**
 * @typedef {{ stamp: string, target: string, inputs: Record<string, string> }} Manifest
 *   `inputs`: path relative to the checkout → SHA-256 of its content.
 */

/**
 * The SHA-256 of a file's content, or `missing` when it cannot be read.
 * @param {string} path
 */
export function contentHash(path) {
  try {
    return hash('sha256', readFileSync(path));
  } catch {
    return 'missing';
  }
}

/**
 * The stamp of a set of inputs: a hash of each path and its content hash, in path order, and of the
 * Node version the bundle targets. Times never enter it: a touched file or a fresh clone keeps it.
 * @param {Record<string, string>} inputs
 * @param {string} target
 */
export function stampOf(inputs, target) {
  const hash = createHash('sha256').update(`target\0${target}\0`);
  for (const path of Object.keys(inputs).sort()) hash.update(`${path}\0${inputs[path]}\0`);
  return hash.digest('hex').slice(0, 20);
}

/**
 * The current build under `dist`, or why there is none.
 * @returns {{ dir: string, manifest: Manifest } | { missing: string }}
 */
export function currentBuild(dist = DIST) {
  let stamp;
  try {
    stamp = readFileSync(join(dist, 'current'), 'utf8').trim();
  } catch {
    return { missing: `there is no build in ${dist}` };
  }
  if (!STAMP.test(stamp)) return { missing: `${join(dist, 'current')} does not name a build` };
  const dir = join(dist, stamp);
  try {
    /** @type {Manifest} */
    const manifest = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8'));
    if (manifest.stamp !== stamp || typeof manifest.inputs !== 'object') throw new Error('not this build');
    return { dir, manifest };
  } catch {
    return { missing: `the build ${dir} is incomplete` };
  }
}

/**
 * The first input whose content differs from what the build was made from, or undefined when the
 * build matches the sources. Reads every input (about 800 KB, a few milliseconds).
 * @param {Manifest} manifest
 */
export function changedInput(manifest, root = ROOT) {
  for (const [path, hash] of Object.entries(manifest.inputs)) {
    if (contentHash(join(root, path)) !== hash) return path;
  }
  return undefined;
}

/**
 * Whether `stamp` has the form of a build's stamp.
 * @param {string} stamp
 */
export function isStamp(stamp) {
  return STAMP.test(stamp);
}
