import { execFile } from 'node:child_process';
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
