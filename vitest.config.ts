import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    setupFiles: ['tests/setup.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real SMTP and HTTP servers and child processes; two files at a time suits 2 cores.
    maxWorkers: 2,
    pool: 'forks',
    // In CI, also a JSON report, from which .ci/run prints a plain 'N passed, N failed' line.
    ...(process.env.CI ? { reporters: ['default', 'json'], outputFile: { json: '.ci/vitest-report.json' } } : {}),
  },
});
