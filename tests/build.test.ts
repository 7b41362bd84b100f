import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);
const ROOT = realpathSync('.');

/** What a checkout holds besides node_modules and the build. */
const SOURCES = ['scripts', 'src', 'emails', 'package.json', 'package-lock.json', 'tsconfig.json'];

/** The environment of a command in a checkout: the developer's ALMANAC_* and SMTP_URL left out, `extra` added. */
function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ALMANAC_') && k !== 'SMTP_URL'));
  return { ...env, ...extra };
}

/**
 * A copy of the checkout's sources in a temporary directory. Its node_modules is a folder of links
 * to the installed packages: every one, or (`production`) only those `npm ci --omit=dev` installs
 * (the lock's top-level packages not marked `dev`), so the copy stands for a production install.
 */
function checkout(modules: 'all' | 'production' = 'all'): string {
  const dir = tempDir('almanac-checkout-');
  for (const name of SOURCES) cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  linkModules(dir, modules);
  return dir;
}

function linkModules(dir: string, modules: 'all' | 'production'): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const installed = realpathSync(join(ROOT, 'node_modules'));
  const target = join(dir, 'node_modules');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target);
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = key.replace(/^node_modules\//, '');
    if (!key.startsWith('node_modules/') || name.includes('/node_modules/')) continue; // the root, or a nested copy that comes with its parent
    if (modules === 'production' && entry.dev) continue;
    if (!existsSync(join(installed, name))) continue; // an optional package for another platform
    mkdirSync(join(target, name, '..'), { recursive: true });
    symlinkSync(join(installed, name), join(target, name));
  }
}

/** Runs `node scripts/<script>` in `dir`; never throws on a non-zero exit. */
async function node(dir: string, script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join('scripts', script), ...args], { cwd: dir, env: commandEnv(env), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `npm ci`'s prepare step in `dir`; returns the build's directory. */
async function prepare(dir: string): Promise<string> {
  const built = await node(dir, 'build.mjs', ['--prepare']);
  expect(built).toMatchObject({ code: 0, stderr: '' });
  return built.stdout.trim();
}

let template: Promise<string> | undefined;

/** A checkout with prepare's build in it, copied from one built once for this file. */
async function builtCheckout(): Promise<{ dir: string; build: string }> {
  template ??= (async () => {
    const dir = checkout();
    await prepare(dir);
    return dir;
  })();
  const dir = tempDir('almanac-checkout-');
  cpSync(await template, dir, { recursive: true, verbatimSymlinks: true });
  return { dir, build: join(dir, 'dist', readFileSync(join(dir, 'dist', 'current'), 'utf8').trim()) };
}

/** Every path under `dir` with its size and modification time, links not followed. */
function snapshot(dir: string): string[] {
  const lines: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    lines.push(`${relative(dir, path)} ${stat.size} ${stat.mtimeMs}`);
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(dir);
  return lines;
}

const USAGE = /^usage: almanac <command>/;
/** Appended to the copy's src/cli.ts: shows that the edited sources ran, without changing what a command prints. */
const EDIT = "\nprocess.on('exit', () => process.stdout.write('[edited sources]\\n'));\n";

describe('the build (scripts/build.mjs) and the launcher (scripts/almanac.mjs)', () => {
  test("prepare's build runs; a touched file keeps it; an edited one runs the sources at once with one line on stderr", { timeout: 240_000 }, async () => {
    const { dir, build } = await builtCheckout();
    expect(readFileSync(join(dir, 'dist', 'current'), 'utf8').trim()).toBe(relative(join(dir, 'dist'), build));
    expect(readdirSync(build)).toEqual(expect.arrayContaining(['build.json', 'cli.js', 'bench-sender.js', 'chunks']));
    for (const path of [build, join(build, 'chunks')]) expect(statSync(path).mode & 0o777).toBe(0o755);
    for (const path of [join(build, 'cli.js'), join(dir, 'dist', 'current')]) expect(statSync(path).mode & 0o777).toBe(0o644);

    const fresh = await node(dir, 'almanac.mjs', ['help']);
    expect(fresh).toMatchObject({ code: 0, stderr: '' });
    expect(fresh.stdout).toMatch(USAGE);

    // Content, not times: a touch (a checkout, a save without a change) keeps the build.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'cli.ts'), later, later);
    expect(await node(dir, 'almanac.mjs', ['help'])).toEqual(fresh);

    const original = readFileSync(join(dir, 'src', 'cli.ts'));
    appendFileSync(join(dir, 'src', 'cli.ts'), EDIT);
    const edited = await node(dir, 'almanac.mjs', ['help']);
    expect(edited.code).toBe(0);
    expect(edited.stdout).toMatch(USAGE);
    expect(edited.stdout.endsWith('[edited sources]\n')).toBe(true);
    expect(edited.stderr).toBe(`almanac: running the sources: src/cli.ts changed since the build in ${build} (\`npm run build\` makes a new one)\n`);
    const json = await node(dir, 'almanac.mjs', ['compose', 'sunday', '--date', '2026-11-22', '--content', join(ROOT, 'content'), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.replace('[edited sources]\n', ''))).toMatchObject({ id: '2026-11-22-sunday' }); // stdout stays the command's own

    writeFileSync(join(dir, 'src', 'cli.ts'), original);
    expect(await node(dir, 'almanac.mjs', ['help'])).toEqual(fresh);
    expect(readdirSync(join(dir, 'dist'))).toEqual([relative(join(dir, 'dist'), build), 'current'].sort());
  });

  test('builds started together leave one build and nothing partial; the build before the current one is kept, older ones go', { timeout: 240_000 }, async () => {
    const dir = checkout();
    const together = await Promise.all([node(dir, 'build.mjs', []), node(dir, 'build.mjs', [])]);
    for (const r of together) expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(together[0]!.stdout).toBe(together[1]!.stdout);
    const first = relative(join(dir, 'dist'), together[0]!.stdout.trim());
    expect(readdirSync(join(dir, 'dist')).sort()).toEqual([first, 'current'].sort());

    const stamps = [first];
    for (const n of [1, 2]) {
      appendFileSync(join(dir, 'src', 'cli.ts'), `// edit ${n}\n`);
      stamps.push(relative(join(dir, 'dist'), await prepare(dir)));
    }
    expect(new Set(stamps).size).toBe(3);
    expect(readdirSync(join(dir, 'dist')).sort()).toEqual([stamps[1]!, stamps[2]!, 'current'].sort());
    expect(await node(dir, 'almanac.mjs', ['help'])).toMatchObject({ code: 0, stderr: '' });
  });

  describe('a build another user could change is refused, never run', () => {
    const root = process.getuid?.() === 0;
    type Case = [name: string, spoil: (dir: string, build: string) => void, problem: RegExp];
    const cases: Case[] = [
      ['a chunk writable by its group', (_dir, build) => chmodSync(join(build, 'chunks', readdirSync(join(build, 'chunks'))[0]!), 0o664), /chunks\/.* is writable by its group \(mode 0664\)/],
      ['the build writable by other users', (_dir, build) => chmodSync(build, 0o757), /[0-9a-f]{20} is writable by other users \(mode 0757\)/],
      ['dist/current writable by other users', (dir) => chmodSync(join(dir, 'dist', 'current'), 0o646), /dist\/current is writable by other users/],
      ['the checkout writable by other users', (dir) => chmodSync(dir, 0o757), /almanac-checkout-\w+ is writable by other users \(mode 0757\)/],
      // Only root may give a file away.
      ...(root ? [['cli.js owned by another user', (_dir, build) => chownSync(join(build, 'cli.js'), 65534, 65534), /cli\.js belongs to uid 65534, not to root, who runs it/] satisfies Case] : []),
    ];
    test.each(cases)('%s', { timeout: 180_000 }, async (_name, spoil, problem) => {
      const { dir, build } = await builtCheckout();
      spoil(dir, build);
      const refused = await node(dir, 'almanac.mjs', ['help']);
      expect(refused).toMatchObject({ code: 1, stdout: '' });
      expect(refused.stderr).toMatch(new RegExp(`^almanac: refusing to run the build in ${build}: `));
      expect(refused.stderr).toMatch(problem);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    });

    test('prepare (npm ci) makes a refused build again, fit to run', { timeout: 180_000 }, async () => {
      const { dir, build } = await builtCheckout();
      chmodSync(join(build, 'cli.js'), 0o666);
      expect((await node(dir, 'almanac.mjs', ['help'])).code).toBe(1);
      expect(await prepare(dir)).toBe(build);
      expect(statSync(join(build, 'cli.js')).mode & 0o777).toBe(0o644);
      expect(await node(dir, 'almanac.mjs', ['help'])).toMatchObject({ code: 0, stderr: '' });
    });
  });

  test('the build does what the sources do: the same edition, byte for byte', { timeout: 180_000 }, async () => {
    const args = ['compose', 'sunday', '--date', '2026-11-22', '--content', 'content', '--json'];
    const env = { ALMANAC_BASE_URL: 'https://almanac.example' };
    const [compiled, sources] = await Promise.all([
      almanac(args, env),
      run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }),
    ]);
    expect(compiled).toMatchObject({ code: 0, stderr: '' }); // the global setup's build, not the sources
    expect(compiled.stdout.length).toBeGreaterThan(1000);
    expect(compiled.stdout).toBe(sources.stdout);
    expect(sources.stderr).toBe('');
  });
});

describe('a production install (npm ci --omit=dev): no esbuild, no tsx', () => {
  test('every command runs from dist/ and writes nothing under node_modules or dist/; a stale build stops with what to do', { timeout: 600_000 }, async () => {
    const { dir, build } = await builtCheckout(); // built where the dev dependencies are installed
    linkModules(dir, 'production');
    expect(readdirSync(join(dir, 'node_modules'))).not.toEqual(expect.arrayContaining(['esbuild']));
    expect(readdirSync(join(dir, 'node_modules'))).not.toEqual(expect.arrayContaining(['tsx']));

    const prepared = await node(dir, 'build.mjs', ['--prepare']);
    expect(prepared).toEqual({ code: 0, stdout: '', stderr: `build: esbuild is not installed (a production install); the build in ${build} matches the sources\n` });

    const data = tempDir();
    const env = { ALMANAC_DB: join(data, 'almanac.db'), ALMANAC_OUTBOX: join(data, 'outbox'), ALMANAC_CONTENT_DIR: join(ROOT, 'content'), ALMANAC_BASE_URL: 'https://almanac.example' };
    const before = [...snapshot(join(dir, 'node_modules')), ...snapshot(join(dir, 'dist')), ...readdirSync(dir)];
    const commands = [
      ['help'],
      ['content', 'check'],
      ['compose', 'sunday', '--date', '2026-11-22', '--json'],
      ['db', 'migrate'],
      ['subscribers', 'add', 'reader@example.com'],
      ['preview', 'sunday', '--date', '2026-11-22', '--out', join(data, 'preview')],
      ['send', 'sunday', '--date', '2026-11-22', '--dry-run'],
      ['schedule', '--next'],
      ['subscribers', 'export', '--format', 'json'],
    ];
    for (const args of commands) {
      const r = await node(dir, 'almanac.mjs', args, env);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    expect([...snapshot(join(dir, 'node_modules')), ...snapshot(join(dir, 'dist')), ...readdirSync(dir)]).toEqual(before);

    appendFileSync(join(dir, 'src', 'cli.ts'), EDIT);
    const stale = await node(dir, 'almanac.mjs', ['help']);
    expect(stale).toEqual({
      code: 1,
      stdout: '',
      stderr: `almanac: src/cli.ts changed since the build in ${build} (\`npm run build\` makes a new one), and tsx is not installed to run the sources (a production install): build where the dev dependencies are installed (README: Deploy)\n`,
    });
    rmSync(join(dir, 'dist'), { recursive: true });
    expect((await node(dir, 'almanac.mjs', ['help'])).stderr).toMatch(/^almanac: there is no build in .*\/dist \(`npm run build` makes one\), and tsx is not installed/);
    expect((await node(dir, 'build.mjs', ['--prepare'])).stderr).toMatch(/^build: esbuild is not installed \(a production install\), so nothing was built and there is no build in /);
  });
});
