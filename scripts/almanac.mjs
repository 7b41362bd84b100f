#!/usr/bin/env node
// @ts-check
/**
 * `almanac`: the compiled CLI (scripts/build.mjs), rebuilt first when a source changed, run in this
 * process. `npm run almanac` and `npm start` start here; `tsx src/cli.ts` runs the sources directly.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuild } from './build.mjs';

let dir;
try {
  dir = await ensureBuild();
} catch (error) {
  process.stderr.write(`almanac: could not build the CLI: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
/** @type {{ runCli(argv: string[]): void }} */
const cli = await import(pathToFileURL(join(dir, 'cli.js')).href);
cli.runCli(process.argv.slice(2));
