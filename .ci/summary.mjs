// CI: one plain line from vitest JSON reports, e.g.
//   tests: 460 passed, 0 failed (node 20: 230 passed, 0 failed; node 24: 230 passed, 0 failed)
// A test that never finished counts as failed: vitest lists the tests of a file whose worker crashed
// as 'pending' (counted nowhere in its totals), a file that failed outside any test (an import error,
// a failing hook) has no failed test, and a run may exit non-zero with no report at all.
// Usage: node .ci/summary.mjs LABEL REPORT.json EXIT_CODE [LABEL REPORT.json EXIT_CODE ...]
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const FINISHED_SKIPPED = new Set(['skipped', 'todo', 'disabled']);

/**
 * Counts one run: `passed`, and `failed` = failed tests + tests that never finished + files that
 * failed outside a test; at least 1 when the run exited non-zero.
 * @param {{ testResults?: { status: string, assertionResults: { status: string }[] }[] } | undefined} report
 * @param {number} exitCode
 */
export function countRun(report, exitCode) {
  let passed = 0;
  let failed = 0;
  let unfinished = 0;
  for (const file of report?.testResults ?? []) {
    let failedHere = 0;
    for (const test of file.assertionResults) {
      if (test.status === 'passed') passed++;
      else if (test.status === 'failed') failedHere++;
      else if (!FINISHED_SKIPPED.has(test.status)) unfinished++;
    }
    // The file failed (a hook, an import, a crashed worker) but none of its tests did: count the file.
    if (file.status === 'failed' && failedHere === 0) failedHere = 1;
    failed += failedHere;
  }
  failed += unfinished;
  if (exitCode !== 0 && failed === 0) failed = 1; // no report, or a failure the report does not show
  return { passed, failed, unfinished };
}

/** Reads a report file; undefined when it is missing or not JSON (the run died before writing it). */
export function readReport(path) {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The combined line for runs `[{ label, report, exitCode }]`. */
export function summaryLine(runs) {
  const counted = runs.map((r) => ({ label: r.label, ...countRun(r.report, r.exitCode) }));
  const passed = counted.reduce((n, r) => n + r.passed, 0);
  const failed = counted.reduce((n, r) => n + r.failed, 0);
  const parts = counted.map((r) => `${r.label}: ${r.passed} passed, ${r.failed} failed${r.unfinished ? ` (${r.unfinished} never finished)` : ''}`);
  return `tests: ${passed} passed, ${failed} failed${parts.length > 1 ? ` (${parts.join('; ')})` : ''}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  if (args.length === 0 || args.length % 3 !== 0) {
    process.stderr.write('usage: node .ci/summary.mjs LABEL REPORT.json EXIT_CODE [...]\n');
    process.exit(2);
  }
  const runs = [];
  for (let i = 0; i < args.length; i += 3) runs.push({ label: args[i], report: readReport(args[i + 1]), exitCode: Number(args[i + 2]) });
  process.stdout.write(`${summaryLine(runs)}\n`);
}
