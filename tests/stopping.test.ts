import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { freePort, tempDir, writeContent } from './helpers.ts';

interface Proc {
  pid: number;
  start: string;
  command: string;
}

/** `/proc/<pid>/stat` as fields after the command name: [state, ppid, …]; undefined once the pid is gone. */
function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Every process below `root`, each with its start time (so a reused pid is not mistaken for it). */
function descendants(root: number): Proc[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    const fields = Number.isInteger(pid) ? stat(pid) : undefined;
    if (fields) byParent.set(Number(fields[1]), [...(byParent.get(Number(fields[1])) ?? []), pid]);
  }
  const found: Proc[] = [];
  const visit = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      const fields = stat(child);
      if (!fields) continue;
      const command = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: child, start: fields[19]!, command });
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** Still running: the same process (same start time) and not a zombie waiting to be reaped. */
function running(p: Proc): boolean {
  const fields = stat(p.pid);
  return fields !== undefined && fields[19] === p.start && fields[0] !== 'Z';
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

/** The environment of a command without the developer's Almanac settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ALMANAC_') && k !== 'SMTP_URL'));
  return { ...env, NO_COLOR: '1', ...extra };
}

const started: { npm: ChildProcess; tree: Proc[] }[] = [];
afterEach(() => {
  // Whatever a failed test left behind.
  for (const { npm, tree } of started.splice(0)) {
    for (const p of [...tree, ...(npm.pid ? descendants(npm.pid) : [])]) if (running(p)) process.kill(p.pid, 'SIGKILL');
    npm.kill('SIGKILL');
  }
});

/**
 * Starts `npm <args>` in the checkout, waits until `ready` says it is serving on `port`, then sends
 * SIGTERM to npm's pid alone (what `kill $!` or a process manager does) and checks that npm exits,
 * every process it started is gone and the port is free.
 */
async function stopWithTerm(args: string[], env: NodeJS.ProcessEnv, port: number, ready: (output: string) => boolean): Promise<void> {
  const npm = spawn('npm', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { npm, tree: [] as Proc[] };
  started.push(entry);
  let output = '';
  npm.stdout!.on('data', (c: Buffer) => (output += String(c)));
  npm.stderr!.on('data', (c: Buffer) => (output += String(c)));
  const exited = new Promise<void>((done) => npm.once('exit', () => done()));
  await until(async () => {
    if (npm.exitCode !== null) throw new Error(`npm ${args.join(' ')} exited early:\n${output}`);
    return ready(output) && (await listening(port));
  }, 120_000, () => `npm ${args.join(' ')} to serve on ${port}:\n${output}`);

  entry.tree = descendants(npm.pid!);
  expect(entry.tree.some((p) => p.command.startsWith(process.execPath) || p.command.startsWith('node '))).toBe(true);
  process.kill(npm.pid!, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`npm did not exit within 60 s of SIGTERM:\n${output}`)), 60_000)));
  await Promise.race([exited, late]).finally(() => clearTimeout(timer));
  await until(() => !entry.tree.some(running), 15_000, () => `every process npm started to end: ${entry.tree.filter(running).map((p) => p.command).join('; ')}`);
  expect(await listening(port)).toBe(false);
}

describe('kill -TERM of npm stops everything it started', () => {
  test.each([
    ['npm start', ['start']],
    ['npm run -s almanac -- serve', ['run', '-s', 'almanac', '--', 'serve']],
  ])('%s: the web server (and scheduler) end and the port is free', { timeout: 180_000 }, async (_name, args) => {
    const port = await freePort();
    const env = cleanEnv({
      ALMANAC_DB: join(tempDir(), 'almanac.db'),
      ALMANAC_CONTENT_DIR: writeContent([], []), // nothing to send, whatever today's date
      ALMANAC_HOST: '127.0.0.1',
      PORT: String(port),
    });
    await stopWithTerm(args, env, port, (output) => output.includes('listening'));
  });

  test('npm run dev: the preview server and everything it started end, and the port is free', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const env = cleanEnv({ ALMANAC_CONTENT_DIR: writeContent([], []) });
    await stopWithTerm(['run', 'dev', '--', '--port', String(port)], env, port, (output) => /Ready in/.test(output));
  });
});
