import Database from 'better-sqlite3';
import { RAW_MIGRATIONS } from '../src/store/migrations.ts';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { almanac } from './cli.ts';
import { EDITION_DATE, EDITION_ID, fixtureContent } from './delivery-fixtures.ts';
import { tempDir } from './helpers.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { describeEachDb, freshTarget } from './store-db.ts';

let smtp: TestSmtpServer | undefined;
afterEach(async () => {
  await smtp?.close();
  smtp = undefined;
});

interface JsonReport {
  editionId: string;
  edition: { status: string; startedAt: string; finishedAt: string };
  runs: { run: number; startedAt: string; finishedAt: string | null; outcome: string | null; sent: number | null }[];
  counts: Record<string, number>;
  total: number;
}

describeEachDb('report runs', (dialect) => {
  test('report shows each run as it was when an edition is sent in two runs (a subscriber added in between)', async () => {
    smtp = await startSmtpServer();
    const dir = tempDir('almanac-report-');
    const env = {
      ALMANAC_DB: await freshTarget(dialect),
      ALMANAC_CONTENT_DIR: fixtureContent(),
      ALMANAC_OUTBOX: join(dir, 'outbox'),
      ALMANAC_BASE_URL: 'https://almanac.example',
      ALMANAC_SECRET: 'report-test-secret-0123456789',
      SMTP_URL: smtp.url,
    };
    const ok = async (args: string[]) => {
      const result = await almanac(args, env);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    await ok(['subscribers', 'add', 'first@example.org']);
    await ok(['subscribers', 'add', 'second@example.org']);
    await ok(['send', 'midweek', '--date', EDITION_DATE]);
    const afterFirst = JSON.parse(await ok(['report', EDITION_ID, '--json'])) as JsonReport;
    expect(afterFirst.runs).toHaveLength(1);

    await ok(['subscribers', 'add', 'late@example.org']);
    await ok(['send', 'midweek', '--date', EDITION_DATE]);
    expect(smtp.recipients().sort()).toEqual(['first@example.org', 'late@example.org', 'second@example.org']);

    const json = JSON.parse(await ok(['report', EDITION_ID, '--json'])) as JsonReport;
    // The keys report --json always had are still there.
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['editionId', 'edition', 'counts', 'total']));
    expect(json.counts.sent).toBe(3);
    const [first, second] = json.runs;
    expect(json.runs).toHaveLength(2);
    expect(first).toEqual({ ...afterFirst.runs[0], run: 1, outcome: 'complete', sent: 2 });
    expect(second).toMatchObject({ run: 2, outcome: 'complete', sent: 1 });
    expect(second!.startedAt >= first!.finishedAt!).toBe(true);
    expect(second!.finishedAt! >= second!.startedAt).toBe(true);
    // The edition's own times stay the first run's (the archive's date), and say so by their place.
    expect(json.edition.startedAt).toBe(first!.startedAt);
    expect(json.edition.finishedAt).toBe(first!.finishedAt);

    const text = await ok(['report', EDITION_ID]);
    expect(text).toContain(`run 1     started ${first!.startedAt}  finished ${first!.finishedAt}  complete, 2 sent`);
    expect(text).toContain(`run 2     started ${second!.startedAt}  finished ${second!.finishedAt}  complete, 1 sent`);
    expect(text).toMatch(/3\s+sent/);
  });

  test('a run that left a deferred recipient is reported incomplete, the run that delivered it complete', async () => {
    let refuse = true;
    smtp = await startSmtpServer({ onRcpt: (to) => (refuse && to === 'slow@example.org' ? { code: 451, message: '4.3.0 Try later' } : 'accept') });
    const env = {
      ALMANAC_DB: await freshTarget(dialect),
      ALMANAC_CONTENT_DIR: fixtureContent(),
      ALMANAC_SECRET: 'report-test-secret-0123456789',
      SMTP_URL: smtp.url,
      SMTP_RETRY_ATTEMPTS: '1',
      SMTP_RETRY_BACKOFF_MS: '5',
    };
    for (const email of ['fast@example.org', 'slow@example.org']) expect((await almanac(['subscribers', 'add', email], env)).code).toBe(0);
    expect((await almanac(['send', 'midweek', '--date', EDITION_DATE], env)).code).toBe(1);
    refuse = false;
    expect((await almanac(['send', 'midweek', '--date', EDITION_DATE], env)).code).toBe(0);
    const report = JSON.parse((await almanac(['report', EDITION_ID, '--json'], env)).stdout) as JsonReport;
    expect(report.runs.map((r) => [r.run, r.outcome, r.sent])).toEqual([
      [1, 'incomplete', 1],
      [2, 'complete', 1],
    ]);
    // The edition became complete in run 2: that is its finish time.
    expect(report.edition.finishedAt).toBe(report.runs[1]!.finishedAt);
    const text = (await almanac(['report', EDITION_ID], env)).stdout;
    expect(text).toMatch(/run 1 +started \S+  finished \S+  incomplete \(recipients left for the next run\), 1 sent/);
  });
});

test('an edition sent before runs were recorded reports its row times as run 1', async () => {
  const dbPath = join(tempDir('almanac-report-'), 'almanac.db');
  // A database at schema version 1 (before edition_runs) holding one sent edition.
  const old = new Database(dbPath);
  for (const statement of RAW_MIGRATIONS[0]!.sqlite) old.exec(statement);
  old.pragma('user_version = 1');
  old.prepare(
    `INSERT INTO editions (id, kind, number, send_at, subject, preheader, status, started_at, finished_at)
     VALUES (?, 'midweek', 3, '2026-11-25T07:00:00.000Z', 'S', 'P', 'sent', '2026-11-25T07:00:01.000Z', '2026-11-25T07:00:09.000Z')`,
  ).run(EDITION_ID);
  old.close();
  const result = await almanac(['report', EDITION_ID, '--json'], { ALMANAC_DB: dbPath });
  expect(result.code, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as JsonReport;
  expect(report.runs).toEqual([{ run: 1, startedAt: '2026-11-25T07:00:01.000Z', finishedAt: '2026-11-25T07:00:09.000Z', outcome: 'complete', sent: null }]);
  const text = await almanac(['report', EDITION_ID], { ALMANAC_DB: dbPath });
  expect(text.stdout).toContain('run 1     started 2026-11-25T07:00:01.000Z  finished 2026-11-25T07:00:09.000Z  complete\n');
});
