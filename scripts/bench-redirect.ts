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
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import { renderEdition } from '../src/render/render-edition.ts';
import { editionLinks } from '../src/store/engagement.ts';
import { openStore } from '../src/store/open.ts';
import { handleTracking } from '../src/tracking/handler.ts';
import { createTrackingDeps, trackEdition } from '../src/tracking/setup.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SECRET = 'bench-secret-0123456789abcdef';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

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
  const { values } = parseArgs({ args: argv, options: { requests: { type: 'string' }, concurrency: { type: 'string' }, db: { type: 'string' } } });
  const int = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
  return { requests: int('requests', values.requests, 40_000), concurrency: int('concurrency', values.concurrency, 64), db: values.db };
}

function benchConfig(db: string) {
  return loadConfig({ ALMANAC_DB: db, ALMANAC_SECRET: SECRET, ALMANAC_TRACKING: 'clicks', ALMANAC_BASE_URL: 'https://almanac.example', ALMANAC_CONTENT_DIR: join(ROOT, 'content') });
}

/** The child: serves /r/ on loopback until told to stop, then writes what is held and reports the count. */
async function serverChild(db: string): Promise<void> {
  const config = benchConfig(db);
  const store = await openStore(db);
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
  process.on('message', async () => {
    server.close();
    await deps.recorder.close();
    const row = await store.db.selectFrom('engagement_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await store.close();
    process.send!({ events: Number(row.n), cpu: process.cpuUsage() });
    process.exit(0);
  });
}

/** Runs the bench; returns the figures. */
export async function main(argv: string[] = process.argv.slice(2), out: NodeJS.WritableStream = process.stdout) {
  const options = parseRedirectArgs(argv);
  const tmp = mkdtempSync(join(tmpdir(), 'almanac-bench-redirect-'));
  const db = options.db ?? join(tmp, 'almanac.db');
  try {
    const config = benchConfig(db);
    const store = await openStore(db);
    const { edition } = await composeEdition('sunday', '2026-11-22', config, config.contentDir);
    const rendered = await renderEdition(edition, { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone });
    const tracked = await trackEdition(store, config, edition, rendered);
    const links = (await editionLinks(store, edition.id)).filter((l) => l.kind !== 'honeypot');
    const byLink = new Map(links.map((l) => [l.link, l.url]));
    const paths = [...tracked.html.matchAll(/href="https:\/\/almanac\.example(\/r\/[^"]+)"/g)].map((m) => m[1]!);
    await store.close();

    const child = fork(join(ROOT, 'scripts', 'bench-redirect.ts'), ['--server-child', db], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
    const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
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
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--server-child') await serverChild(argv[1]!);
  else
    await main(argv).catch((error: unknown) => {
      process.stderr.write(`bench-redirect: ${(error as Error).message}\n`);
      process.exit(1);
    });
}
