import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `almanac` as a real child process from the repository root; never throws on a non-zero exit. */
export async function almanac(args: string[], env: Record<string, string> = {}, timeout = 60_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['scripts/almanac.mjs', ...args], {
      env: { ...process.env, ...env },
      timeout,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A long-running `almanac` child process (a server), started by `startAlmanac`. */
export interface RunningAlmanac {
  child: ChildProcess;
  /** Everything it has written so far, stdout and stderr interleaved. */
  output: () => string;
  /** Resolves when the process has closed. */
  exited: Promise<void>;
  /** SIGTERM if still running, then waits for it to close. */
  stop: () => Promise<void>;
}

/**
 * Starts `almanac ARGS` from the repository root with only PATH and `env` in its environment, and
 * resolves once `ready` appears in its output; throws with the output if it exits or takes longer
 * than `timeoutMs`. Call `stop()` when done (tests register it with their cleanup).
 */
export async function startAlmanac(args: string[], env: Record<string, string>, ready: string, timeoutMs = 60_000): Promise<RunningAlmanac> {
  const child = spawn(process.execPath, ['scripts/almanac.mjs', ...args], { cwd: resolve(import.meta.dirname, '..'), env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const start = Date.now();
  while (!output.includes(ready)) {
    if (Date.now() - start > timeoutMs || child.exitCode !== null) {
      await stop();
      throw new Error(`almanac ${args.join(' ')} did not print ${JSON.stringify(ready)}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => output, exited, stop };
}
