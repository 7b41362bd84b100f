/**
 * Requests per second of the tracked-link endpoint `GET /r/<token>` (issue 18).
 * `npm run -s bench:redirect [-- --requests N] [--concurrency C] [--db PATH_OR_URL]`
 *
 * 1. Composes and renders the Sunday edition of 2026-11-22 from the shipped content, rewrites its
 *    links with ALMANAC_TRACKING=clicks and saves its link list in a fresh store (a temporary
 *    SQLite file, or the empty PostgreSQL database given with --db).
 * 2. Starts the real handler (node:http + handleTracking, batched recorder) in a child process.
 * 3. Sends N GET requests over keep-alive connections, C at a time, spread over the edition's
 *    links and over 1,000 distinct browser user agents (readers), and checks every answer is a 302
 *    to the edition's own URL.
 * 4. Waits for the recorder's last batch and checks the store holds one click event per distinct
 *    (reader, link) pair: a reader's repeat of a link within minutes counts once.
 * Prints the table and, last, one JSON line.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { editionLinks } from '../src/store/engagement.ts';
import { handleTracking } from '../src/tracking/handler.ts';
import { createTrackingDeps, trackEdition } from '../src/tracking/setup.ts';
import { integerFlag } from './bench/args.ts';
import { countRows, withStore } from './bench/database.ts';
import { BENCH_BASE_URL, BENCH_SECRET, renderBenchEdition } from './bench/edition.ts';
import { isMain, runMain } from './bench/entry.ts';
import { CONTENT_DIR } from './bench/paths.ts';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

/** `npm run bench:redirect -- --help`. */
export const REDIRECT_USAGE = `
npm run -s bench:redirect [-- --requests N] [--concurrency C] [--db PATH_OR_URL]

Serves the tracked links of the Sunday edition from the real handler in a child process and sends
N GET /r/<token> requests over keep-alive, C in flight; checks every answer and every click event
stored. Last line: one JSON object.

  --requests N      requests (default 40000)
  --concurrency C   requests in flight at once (default 64)
  --db TARGET       the store: a SQLite path or an empty PostgreSQL database (default: a temporary SQLite file)
`;

/** Options of the redirect bench. */
export interface RedirectBenchOptions {
  /** @default 40000 */
  requests: number;
  /** Requests in flight at once. @default 64 */
  concurrency: number;
  /** Store: a SQLite path or an empty PostgreSQL database URL. @default a temporary SQLite file */
  db: string | undefined;
}

/** Parses `--requests N --concurrency C --db TARGET`. */
export function parseRedirectArgs(argv: string[]): RedirectBenchOptions {
  const { values } = parseArgs({ args: argv, options: { requests: { type: 'string' }, concurrency: { type: 'string' }, db: { type: 'string' } }, strict: true });
  return { requests: integerFlag('requests', values.requests, 40_000), concurrency: integerFlag('concurrency', values.concurrency, 64), db: values.db };
}

function redirectConfig(db: string) {
  return loadConfig({ ALMANAC_DB: db, ALMANAC_SECRET: BENCH_SECRET, ALMANAC_TRACKING: 'clicks', ALMANAC_BASE_URL: BENCH_BASE_URL, ALMANAC_CONTENT_DIR: CONTENT_DIR });
}

/** The child: serves /r/ on loopback until told to stop, then writes what is held and reports the count. */
async function serverChild(db: string): Promise<void> {
  const config = redirectConfig(db);
  const events = await withStore(db, async (store) => {
    const deps = await createTrackingDeps(store, config);
    const server = createServer((req, res) => {
      handleTracking(req, res, deps).then(
        (handled) => void (handled || res.writeHead(404).end()),
        () => res.writeHead(500).end(),
      );
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.send!({ port: (server.address() as { port: number }).port });
    await new Promise((r) => process.once('message', r));
    server.close();
    await deps.recorder.close();
    return countRows(store, 'engagement_events');
  });
  process.send!({ events, cpu: process.cpuUsage() });
  process.exit(0);
}

/** Runs the bench; returns the figures. */
export async function main(argv: string[] = process.argv.slice(2), out: NodeJS.WritableStream = process.stdout) {
  const options = parseRedirectArgs(argv);
  const tmp = mkdtempSync(join(tmpdir(), 'almanac-bench-redirect-'));
  const db = options.db ?? join(tmp, 'almanac.db');
  // On a failure half-way, the server child and the keep-alive sockets must not keep this process alive.
  const cleanups: (() => void)[] = [];
  try {
    const config = redirectConfig(db);
    const { edition, rendered } = await renderBenchEdition(config);
    const { byLink, paths } = await withStore(db, async (store) => {
      const tracked = await trackEdition(store, config, edition, rendered);
      const links = (await editionLinks(store, edition.id)).filter((l) => l.kind !== 'honeypot');
      return { byLink: new Map(links.map((l) => [l.link, l.url])), paths: [...tracked.html.matchAll(/href="https:\/\/almanac\.example(\/r\/[^"]+)"/g)].map((m) => m[1]!) };
    });

    const child = fork(fileURLToPath(import.meta.url), ['--server-child', db], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill());
    const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
    const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
    cleanups.push(() => agent.destroy());
    const expected = new Set(byLink.values());
    let sent = 0;
    let wrong = 0;
    const pairs = new Set<string>();
    const one = (i: number) =>
      new Promise<void>((done, fail) => {
        const path = paths[i % paths.length]!;
        pairs.add(`${i % 1000} ${path}`);
        const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'user-agent': `${BROWSER} reader-${i % 1000}` } }, (res) => {
          if (res.statusCode !== 302 || !(expected.has(res.headers.location ?? '') || res.headers.location?.includes('/archive/'))) wrong++;
          res.resume();
          res.on('end', done);
        });
        req.on('error', fail);
        req.end();
      });
    const worker = async () => {
      while (sent < options.requests) await one(sent++);
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    agent.destroy();
    child.send('stop');
    const { events, cpu } = await new Promise<{ events: number; cpu: NodeJS.CpuUsage }>((r) => child.once('message', r as never));
    const result = {
      requests: options.requests,
      concurrency: options.concurrency,
      store: options.db ? 'given' : 'sqlite (temporary file)',
      seconds: Number(seconds.toFixed(2)),
      requestsPerSecond: Math.round(options.requests / seconds),
      wrongAnswers: wrong,
      eventsStored: events,
      distinctReaderLinks: pairs.size,
      serverCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      cores: cpus().length,
    };
    out.write(
      [
        `redirect endpoint: ${result.requests} GET /r/<token> over keep-alive, ${result.concurrency} in flight, store ${result.store}`,
        `  ${result.requestsPerSecond} requests/s (${result.seconds} s; server CPU ${result.serverCpuSeconds} s on ${result.cores} cores)`,
        `  answers not a 302 to the edition's own URL: ${wrong}; click events stored: ${events} (distinct reader-link pairs: ${pairs.size})`,
        JSON.stringify(result),
        '',
      ].join('\n'),
    );
    if (wrong > 0 || events !== pairs.size) throw new Error(`bench check failed: ${wrong} wrong answers, ${events} events stored for ${pairs.size} distinct reader-link pairs`);
    return result;
  } finally {
    for (const cleanup of cleanups) cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--server-child') await serverChild(argv[1]!);
  else await runMain('bench:redirect', REDIRECT_USAGE, (args) => main(args));
}
