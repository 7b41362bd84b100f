import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway PostgreSQL server for one test run (what .ci/run starts, started by the tests themselves). */
export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication, loopback only). */
  url: string;
  /** Its temporary directory (data, socket, log), removed by stop(). */
  dir: string;
  /** Stops the server at once and removes its directory; safe to call twice. */
  stop(): void;
}

const isRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program as the `postgres` user when we are root (initdb and the server refuse root). */
function asOwner(program: string, args: string[]): void {
  if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', program, ...args], { stdio: 'pipe' });
  else execFileSync(program, args, { stdio: 'pipe' });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts PostgreSQL from `bin` (Debian's /usr/lib/postgresql/<version>/bin) in a new temporary
 * directory on a free loopback port, as LIBRARIES.md and .ci/run do: initdb with trust
 * authentication, then pg_ctl start with durability off (a test server loses nothing worth keeping).
 */
export async function startTestPostgres(bin: string): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'almanac-test-pg-'));
  chmodSync(dir, 0o755); // mkdtemp makes it 0700; the postgres user must traverse it
  const pgDir = join(dir, 'pg');
  if (isRoot) execFileSync('install', ['-d', '-o', 'postgres', pgDir]);
  else mkdirSync(pgDir);
  const data = join(pgDir, 'data');
  let started = false;
  const stop = () => {
    if (started) {
      started = false;
      try {
        asOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    asOwner(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres']);
    const options = `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    started = true;
    asOwner(join(bin, 'pg_ctl'), ['-D', data, '-l', join(pgDir, 'log'), '-w', '-o', options, 'start']);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, stop };
  } catch (error) {
    stop();
    const e = error as Error & { stderr?: Buffer };
    throw new Error(`could not start a throwaway PostgreSQL from ${bin}: ${e.message}${e.stderr?.length ? `\n${e.stderr}` : ''}`, { cause: error });
  }
}
