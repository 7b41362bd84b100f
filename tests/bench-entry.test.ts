import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { BOUNCES_USAGE } from '../scripts/bench-bounces.ts';
import { REDIRECT_USAGE } from '../scripts/bench-redirect.ts';
import { TRACKING_USAGE } from '../scripts/bench-tracking.ts';
import { BENCH_USAGE } from '../scripts/bench/args.ts';
import { tempDir } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** Runs a script under tsx as `npm run` does; resolves with its exit code and output, never rejects. */
async function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('bench scripts: how they start', () => {
  test.each([
    ['scripts/bench.ts', BENCH_USAGE, '--subscribers N'],
    ['scripts/bench-bounces.ts', BOUNCES_USAGE, '--messages N'],
    ['scripts/bench-redirect.ts', REDIRECT_USAGE, '--requests N'],
    ['scripts/bench-tracking.ts', TRACKING_USAGE, '--copies N'],
  ])('%s --help prints its usage and nothing else (the bench does not run)', async (script, usage, flag) => {
    const { code, stdout, stderr } = await run(script, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${usage.trim()}\n`);
    expect(stdout).toContain(flag);
    expect(stderr).toBe('');
  }, 120_000);

  test('a mistake on the command line is one line naming the bench and the flag, exit 1, no stack', async () => {
    const { code, stdout, stderr } = await run('scripts/bench.ts', ['--subscribers', 'many']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('bench: --subscribers: expected an integer >= 1, found "many" (see --help)\n');
  }, 120_000);

  test('a script started through a link still runs its main (node_modules is a link in a worktree; the compiled sender lives there)', async () => {
    const dir = tempDir('almanac-bench-entry-');
    writeFileSync(
      join(dir, 'real.ts'),
      `import { isMain } from ${JSON.stringify(pathToFileURL(join(ROOT, 'scripts', 'bench', 'entry.ts')).href)};\nconsole.log(JSON.stringify({ main: isMain(import.meta.url) }));\n`,
    );
    mkdirSync(join(dir, 'linked'));
    symlinkSync(join(dir, 'real.ts'), join(dir, 'linked', 'link.ts'));
    expect((await run(join(dir, 'linked', 'link.ts'), [])).stdout.trim()).toBe('{"main":true}');
    // Imported rather than run, it is not the main module.
    writeFileSync(join(dir, 'importer.ts'), `import './real.ts';\n`);
    expect((await run(join(dir, 'importer.ts'), [])).stdout.trim()).toBe('{"main":false}');
  }, 120_000);
});
