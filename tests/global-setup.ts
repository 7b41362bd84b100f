import { ensureBuild } from '../scripts/build.mjs';

/**
 * Makes the build that `npm ci` makes (its `prepare` step) when the sources changed since the
 * current one, before any test file runs: tests start `node scripts/almanac.mjs`, which runs that
 * build when it matches the sources, and the sources (with a note on stderr) when not.
 */
export default async function setup(): Promise<void> {
  await ensureBuild();
}
