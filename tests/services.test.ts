import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { postgresBin, skipReason, titled } from './services.ts';
import { startTestPostgres } from './test-postgres.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** Runs `vitest run FILES` (what `npm test` runs) in a child process with `env`; never throws. */
function vitest(files: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...files], { cwd: ROOT, env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('npm test on a machine without PostgreSQL, Dovecot or Chromium', () => {
  test('skips the cases that need them, says why in its default output, and passes', { timeout: 200_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ALMANAC_TEST_WITHOUT: 'postgresql,dovecot,chromium', NO_COLOR: '1', FORCE_COLOR: '0' };
    delete env.CI; // no JSON report: .ci/run's report file belongs to the run this test is part of
    delete env.ALMANAC_TEST_PG_URL;
    const run = await vitest(['tests/bounces-imap.test.ts', 'tests/email-layout.test.ts'], env);
    expect(run.code, run.output).toBe(0);
    for (const verb of ['skipping', 'skipped']) {
      expect(run.output).toContain(`almanac tests: ${verb} the IMAP bounce tests (bounces fetch): Dovecot is not installed (/usr/sbin/dovecot; apt-get install dovecot-imapd)`);
      expect(run.output).toContain(`almanac tests: ${verb} the layout tests and the preview server test: Chromium is not installed (/usr/bin/chromium; apt-get install chromium)`);
      expect(run.output).toContain(`almanac tests: ${verb} the PostgreSQL cases of the store, send, bounce and web tests: no PostgreSQL:`);
    }
    // bounces-imap's 8 host-rule cases need no server; every case that drives Dovecot, PostgreSQL or Chromium is skipped.
    expect(run.output).toMatch(/Tests\s+8 passed \| 11 skipped \(19\)/);
    expect(run.output).not.toMatch(/failed/);
    expect(run.output).not.toContain('PostgreSQL for the tests: a throwaway server');
  });
});

const NO_PG_BIN = postgresBin() ? undefined : "skipped: Debian's PostgreSQL is not installed (apt-get install postgresql)";

describe.skipIf(!!NO_PG_BIN)(titled('npm test with Debian PostgreSQL installed', NO_PG_BIN), () => {
  test('the PostgreSQL cases run: ALMANAC_TEST_PG_URL reaches the tests (set by you, .ci/run, or the global setup, which starts a server)', () => {
    expect(skipReason('postgresql')).toBeUndefined();
    expect(process.env.ALMANAC_TEST_PG_URL).toMatch(/^postgres(ql)?:\/\//);
  });

  test('a throwaway PostgreSQL starts on a loopback port, answers, and is gone with its directory after stop', { timeout: 120_000 }, async () => {
    const server = await startTestPostgres(postgresBin()!);
    try {
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      await client.end();
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
    const after = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 5_000 });
    await expect(after.connect()).rejects.toThrow();
    server.stop(); // twice is harmless
  });
});
