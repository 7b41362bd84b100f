import { ensureBuild } from '../scripts/build.mjs';

/**
 * Builds the compiled CLI once before any test file runs: tests start `node scripts/almanac.mjs`
 * (what `npm run almanac` runs) in many processes at once, and each would otherwise find the build
 * missing and make its own.
 */
export default async function setup(): Promise<void> {
  await ensureBuild();
}
