import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { countRun, readReport, summaryLine } from '../.ci/summary.mjs';
import { tempDir } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** Runs vitest on a fixture project and the CI summary script on its report, as .ci/run does. */
async function vitestAndSummary(fixture: string) {
  const report = join(tempDir('almanac-ci-'), 'report.json');
  let code = 0;
  try {
    await run('node_modules/.bin/vitest', ['run', '--root', fixture, '--reporter=json', `--outputFile.json=${report}`], {
      cwd: ROOT,
      env: { ...process.env, CI: '' },
    });
  } catch (error) {
    code = (error as { code: number }).code;
  }
  const summary = await run(process.execPath, ['.ci/summary.mjs', 'node 20', report, String(code)], { cwd: ROOT });
  return { code, report: readReport(report), line: summary.stdout.trim() };
}

test('CI summary counts tests that never finished (a crashed worker) and files failed outside a test as failed', async () => {
  const { code, report, line } = await vitestAndSummary('tests/fixtures/ci-summary');
  expect(code).toBe(1);
  // vitest's own totals say nothing failed: the old summary line printed "4 passed, 0 failed".
  expect(report.numFailedTests).toBe(0);
  // passes (2) + hook-fails (1) passed; crashes' 3 tests never finished, hook-fails failed as a file.
  expect(line).toBe('tests: 3 passed, 4 failed');
});

test('CI summary: a run that exited non-zero without a report is failed; runs are added up on one line', () => {
  expect(countRun(undefined, 1)).toEqual({ passed: 0, failed: 1, unfinished: 0 });
  const green = { testResults: [{ status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'skipped' }, { status: 'todo' }] }] };
  expect(summaryLine([
    { label: 'node 20', report: green, exitCode: 0 },
    { label: 'node 24', report: undefined, exitCode: 1 },
  ])).toBe('tests: 1 passed, 1 failed (node 20: 1 passed, 0 failed; node 24: 0 passed, 1 failed)');
});
