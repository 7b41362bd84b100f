import { ensureBuild } from '../scripts/build.mjs';
import { postgresBin, pretendedMissing, skipLines } from './services.ts';
import { startTestPostgres, type TestPostgres } from './test-postgres.ts';

/**
 * Before any test file runs:
 * - makes the build that `npm ci` makes (its `prepare` step) when the sources changed since the
 *   current one: tests start `node scripts/almanac.mjs`, which runs that build when it matches the
 *   sources, and the sources (with a note on stderr) when not;
 * - when ALMANAC_TEST_PG_URL is not set and Debian's PostgreSQL is installed, starts a throwaway
 *   PostgreSQL (as the IMAP tests start Dovecot) and hands its URL to the test workers and the CLI
 *   processes they start, through the environment; it is stopped and its directory removed at the end;
 * - says once which services are missing and what is skipped for that.
 * Returns the teardown.
 */
export default async function setup(): Promise<() => void> {
  await ensureBuild();
  if (pretendedMissing().has('postgresql')) delete process.env.ALMANAC_TEST_PG_URL;
  let postgres: TestPostgres | undefined;
  const bin = postgresBin();
  if (!process.env.ALMANAC_TEST_PG_URL && bin) {
    postgres = await startTestPostgres(bin);
    process.env.ALMANAC_TEST_PG_URL = postgres.url; // workers are started after this, with this environment
    process.once('exit', postgres.stop); // an interrupted run (Ctrl-C) stops it too
    say(`PostgreSQL for the tests: a throwaway server from ${bin} at ${postgres.url} (stopped and removed at the end)`);
  }
  for (const line of skipLines('skipping')) say(line);
  const skipped = skipLines('skipped');
  return () => {
    postgres?.stop();
    // Said again at the end, under the counts, where a reader looks.
    for (const line of skipped) say(line);
  };
}

function say(line: string): void {
  process.stdout.write(`almanac tests: ${line}\n`);
}
