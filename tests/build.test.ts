import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT, buildStamp } from '../scripts/build.mjs';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);

// Build directories must lie inside the checkout (the bundle finds its packages in node_modules).
const builds: string[] = [];
function buildDir(): string {
  mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'almanac-test-'));
  builds.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of builds) rmSync(dir, { recursive: true, force: true });
});

describe('the compiled CLI (scripts/build.mjs, scripts/almanac.mjs)', () => {
  test('the stamp changes when a source file is edited, added or touched, and only then', () => {
    const root = tempDir();
    mkdirSync(join(root, 'src', 'commands'), { recursive: true });
    mkdirSync(join(root, 'emails'));
    writeFileSync(join(root, 'src', 'cli.ts'), 'export {};\n');
    writeFileSync(join(root, 'emails', 'edition.tsx'), 'export default 1;\n');
    writeFileSync(join(root, 'package.json'), '{}\n');
    const first = buildStamp(root);
    expect(buildStamp(root)).toBe(first);

    writeFileSync(join(root, 'emails', 'edition.tsx'), 'export default 2;\n');
    const edited = buildStamp(root);
    expect(edited).not.toBe(first);

    writeFileSync(join(root, 'src', 'commands', 'send.ts'), 'export {};\n');
    const added = buildStamp(root);
    expect(added).not.toBe(edited);

    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'src', 'cli.ts'), later, later); // same content, new mtime (a checkout, a save)
    expect(buildStamp(root)).not.toBe(added);
  });

  test('processes starting together with no build make one, run it, and leave no partial build behind', async () => {
    const dir = buildDir();
    const env = { ALMANAC_BUILD_DIR: dir };
    const runs = await Promise.all([almanac(['help'], env), almanac(['help'], env), almanac(['help'], env)]);
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: almanac <command>/);
    }
    const made = readdirSync(dir);
    expect(made).toEqual([buildStamp()]); // the losers' temporary directories are gone
    expect(readdirSync(join(dir, made[0]!)).sort()).toEqual(expect.arrayContaining(['bench-sender.js', 'chunks', 'cli.js']));

    // An unchanged tree starts from the same build without rebuilding it.
    const built = statSync(join(dir, made[0]!, 'cli.js')).mtimeMs;
    await almanac(['help'], env);
    expect(statSync(join(dir, made[0]!, 'cli.js')).mtimeMs).toBe(built);
  });

  test('the compiled CLI does what the sources do: the same edition, byte for byte', async () => {
    const args = ['compose', 'sunday', '--date', '2026-11-22', '--content', 'content', '--json'];
    const env = { ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_BUILD_DIR: buildDir() };
    const [compiled, sources] = await Promise.all([
      almanac(args, env),
      run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }),
    ]);
    expect(compiled.code).toBe(0);
    expect(compiled.stdout.length).toBeGreaterThan(1000);
    expect(compiled.stdout).toBe(sources.stdout);
    expect(compiled.stderr).toBe(sources.stderr);
  });

  test('a build that cannot be made says why and exits 1', async () => {
    const dir = buildDir();
    writeFileSync(join(dir, 'not-a-directory'), '');
    const blocked = await almanac(['help'], { ALMANAC_BUILD_DIR: join(dir, 'not-a-directory') });
    expect(blocked).toMatchObject({ code: 1, stderr: expect.stringMatching(/^almanac: could not build the CLI: cannot write the compiled CLI to .*not-a-directory/) });

    const outside = await almanac(['help'], { ALMANAC_BUILD_DIR: tempDir() });
    expect(outside).toMatchObject({ code: 1, stderr: expect.stringMatching(/^almanac: could not build the CLI: ALMANAC_BUILD_DIR must be inside /) });
  });
});
