/**
 * Throughput and memory of the real send path at newsletter scale (issue 7).
 * `npm run bench [-- --subscribers N] [--baseline N] [--connections C] [--dkim] [--ed25519] [--tracking] [--db postgres://… [--senders N]]`
 *
 * 1. Seeds N active subscribers into a temporary SQLite database (one transaction, multi-row inserts).
 * 2. Starts scripts/smtp-sink.ts (a discarding SMTP server) in its own process on loopback.
 * 3. Runs the real `runSend` (compose → render → checks → ledger → SMTP) for the Sunday edition of
 *    2026-11-22 in a child process of its own, so its peak RSS is the sender's alone (not the
 *    seeding's or the baseline's); the child (scripts/bench-sender.ts, run from the compiled build as
 *    `npm run almanac` runs the CLI) reports its timings and `resourceUsage().maxRSS`.
 * 4. Times the ledger's writes in isolation (same Ledger statements, same transactions).
 * 5. Runs a naive baseline against the same sink: a React render + toPlainText + `sendMail` per recipient.
 * 6. Checks that the sink received every message, prints a table and, as the last line, one JSON object.
 *
 * With `--db postgres://…`, step 3 also runs on PostgreSQL, in the same run so the figures are
 * ratios under the same load: in a fresh database created in that server for the run (the URL's
 * user needs CREATEDB; the database is dropped at the end), with one sender process, and with
 * `--senders N` (N > 1) also N sender processes started together on another fresh database,
 * sharing the edition by claims. Their throughput is all messages over the time from the first
 * sender's start to the last one's end; each sender's peak RSS is reported.
 *
 * With `--dkim`, step 3 runs twice against the same sink, on two copies of the seeded database:
 * unsigned, then DKIM-signed with an RSA-2048 key generated for the run (`--ed25519` adds an
 * Ed25519 signature beside it), and both are reported side by side. It does so `--pairs N` times
 * (default 3), alternating unsigned and signed, each on its own copy of the database: the machine's
 * load drifts during a run, so the ratio reported is the median of the pairs' ratios (each pair's
 * is printed too).
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../src/config.ts';
import pg from 'pg';
import { ROWS_PER_STATEMENT, isPostgresUrl, redactUrl, transaction } from '../src/store/dialect.ts';
import { Ledger, LedgerBatch } from '../src/store/ledger.ts';
import { openStore } from '../src/store/open.ts';
import { composeEdition } from '../src/editions/edition-for.ts';
import type { Edition } from '../src/editions/compose.ts';
import { Tokens, recipientLinks } from '../src/subscribers/tokens.ts';
import { BENCH_DATE, BENCH_KIND, BENCH_SECRET, benchConfig, processCpuSeconds, type BenchDkim, type SenderInput, type SenderReport } from './bench-sender.ts';
import { ensureBuild } from './build.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const SINK = join(ROOT, 'scripts', 'smtp-sink.ts');

export interface BenchOptions {
  /** @default 20000 */
  subscribers: number;
  /** Recipients in the naive baseline. @default 1000 */
  baseline: number;
  /** Pooled SMTP connections (SMTP_MAX_CONNECTIONS). @default 5 (the config default) */
  connections: number;
  /** Content directory. @default <repo>/content */
  contentDir: string;
  /** Also run the send DKIM-signed (RSA-2048 key generated for the run). @default false */
  dkim: boolean;
  /** With `dkim`, add an Ed25519 signature beside the RSA one. @default false */
  ed25519: boolean;
  /** Also run the send with ALMANAC_TRACKING=clicks (issue 18), against the same sink. @default false */
  tracking: boolean;
  /** A PostgreSQL server to run the send on as well (fresh databases are created in it). */
  db?: string;
  /** Cooperating sender processes for the PostgreSQL run (besides the one-sender run). @default 1 */
  senders: number;
  /** With `dkim`: alternating unsigned/signed pairs of sends; the ratio reported is their median. @default 3 */
  pairs: number;
}

/** Parses `--subscribers N --baseline N --connections C [--content DIR]`; errors say what was expected. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      subscribers: { type: 'string' },
      baseline: { type: 'string' },
      connections: { type: 'string' },
      content: { type: 'string' },
      dkim: { type: 'boolean' },
      ed25519: { type: 'boolean' },
      tracking: { type: 'boolean' },
      db: { type: 'string' },
      senders: { type: 'string' },
      pairs: { type: 'string' },
    },
    strict: true,
  });
  if (values.db !== undefined && !isPostgresUrl(values.db)) {
    throw new Error(`--db: expected a postgres:// or postgresql:// URL, found ${JSON.stringify(redactUrl(values.db))}`);
  }
  if (values.senders !== undefined && values.db === undefined) throw new Error('--senders: needs --db postgres://… (several senders share an edition on PostgreSQL only)');
  if (values.pairs !== undefined && values.dkim !== true && values.ed25519 !== true) throw new Error('--pairs: needs --dkim (pairs of unsigned and signed sends)');
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, found ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    subscribers: int('subscribers', values.subscribers, 20_000, 1),
    baseline: int('baseline', values.baseline, 1_000, 1),
    connections: int('connections', values.connections, 5, 1),
    contentDir: resolve(values.content ?? join(ROOT, 'content')),
    dkim: values.dkim === true || values.ed25519 === true,
    ed25519: values.ed25519 === true,
    tracking: values.tracking === true,
    ...(values.db !== undefined ? { db: values.db } : {}),
    senders: int('senders', values.senders, 1, 1),
    pairs: int('pairs', values.pairs, 3, 1),
  };
}

/** A fresh RSA-2048 key (and Ed25519 key when asked) for one bench run. */
export function benchDkim(ed25519: boolean): BenchDkim {
  const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    domain: 'almanac.example',
    selector: 'bench',
    privateKey: pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    ...(ed25519 ? { ed25519: { selector: 'bench-ed', privateKey: pem(generateKeyPairSync('ed25519').privateKey) } } : {}),
  };
}

/** A synthetic subscriber's address. */
export function benchAddress(id: number): string {
  return `reader${String(id).padStart(7, '0')}@bench.example`;
}

/** Inserts `n` active Midweek+Sunday subscribers (ids 1..n) in one transaction, with rows matching SubscriberStore's (SQLite file or PostgreSQL URL). */
export async function seedDatabase(target: string, n: number): Promise<{ ms: number }> {
  const started = performance.now();
  const store = await openStore(target);
  try {
    const now = new Date().toISOString();
    await transaction(store, async (tx) => {
      for (let from = 1; from <= n; from += ROWS_PER_STATEMENT) {
        const rows = [];
        for (let id = from; id < from + ROWS_PER_STATEMENT && id <= n; id++) {
          rows.push({
            id,
            email: benchAddress(id),
            name: null,
            status: 'active' as const,
            midweek: 1,
            sunday: 1,
            consent_source: 'import',
            consent_ip: null,
            consent_wording: null,
            requested_at: now,
            confirmed_at: now,
            last_reply: null,
            created_at: now,
            updated_at: now,
          });
        }
        await tx.insertInto('subscribers').values(rows).execute();
      }
      // The store never reuses an id: keep its high-water mark in step.
      await tx
        .insertInto('settings')
        .values({ key: 'subscribers.last_id', value: String(n) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(n) }))
        .execute();
    });
  } finally {
    await store.close();
  }
  return { ms: performance.now() - started };
}

/** A fresh empty database in the PostgreSQL server of `url` (the URL's user needs CREATEDB); `drop()` removes it. */
export async function freshPostgres(url: string, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `almanac_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** What the sink received, printed by it on SIGTERM. */
export interface SinkCounts {
  messages: number;
  recipients: number;
  bytes: number;
}

/** Starts scripts/smtp-sink.ts as its own process; `stop()` sends SIGTERM and resolves with its counts. */
export async function startSinkProcess(): Promise<{ port: number; pid: number; stop: () => Promise<SinkCounts> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SINK], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffer = '';
  let onLine: (() => void) | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      onLine?.();
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const nextLine = (index: number) =>
    new Promise<string>((resolveLine, reject) => {
      const check = () => {
        if (lines.length > index) {
          onLine = undefined;
          resolveLine(lines[index]!);
        }
      };
      onLine = check;
      check();
      void exited.then((code) => reject(new Error(`the SMTP sink exited (code ${code}) before printing line ${index + 1}`)));
    });
  const { port } = JSON.parse(await nextLine(0)) as { port: number };
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      const counts = nextLine(1);
      child.kill('SIGTERM');
      const parsed = JSON.parse(await counts) as SinkCounts;
      await exited;
      return parsed;
    },
  };
}

/** Runs `senderChild` in a fresh Node process (the compiled `bench-sender`, built first if a source changed) and returns its report. */
export async function runSenderProcess(input: SenderInput): Promise<SenderReport> {
  const built = join(await ensureBuild(), 'bench-sender.js');
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), built, JSON.stringify(input)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`the sender process failed (exit ${code}):\n${stderr}${stdout}`);
  return JSON.parse(last) as SenderReport;
}

/**
 * The ledger's cost in isolation: the same batched commits the send loop makes per recipient
 * ('sending' before the SMTP call, then the outcome), for `n` recipients, committed in
 * transactions of `batch` recipients (the loop commits each wake-up's replies and the next picks
 * together). Written under a separate edition id in the same database.
 */
export async function measureLedger(target: string, n: number, batch: number): Promise<{ ms: number; usPerMessage: number }> {
  const store = await openStore(target);
  try {
    const ledger = new Ledger(store, `bench-ledger-probe-${batch}`);
    const started = performance.now();
    let previous: number[] = [];
    for (let from = 1; from <= n + batch; from += batch) {
      const current: number[] = [];
      for (let id = from; id < from + batch && id <= n; id++) current.push(id);
      const writes = new LedgerBatch();
      for (const id of previous) writes.record({ subscriberId: id, state: 'sent', reply: '250 Message queued', messageId: `<${id}@bench>` }, benchAddress(id));
      for (const id of current) writes.markSending(id, benchAddress(id), `<${id}@bench>`);
      await ledger.commit(writes);
      previous = current;
    }
    const ms = performance.now() - started;
    return { ms, usPerMessage: (ms * 1000) / n };
  } finally {
    await store.close();
  }
}

/**
 * The naive sender: per recipient, a React render of the edition with that recipient's links, a
 * toPlainText for the text part, and nodemailer `sendMail({ from, to, subject, html, text, headers })`
 * on a pooled transport, `connections` recipients at a time. Returns messages per second.
 */
export async function runBaseline(input: {
  edition: Edition;
  config: Config;
  count: number;
  connections: number;
}): Promise<{ ms: number; sent: number; msgsPerSecond: number }> {
  const { edition, config } = input;
  // Loaded here, not at the top: the sender process imports this file too and must not carry them.
  const [{ render, toPlainText }, { default: nodemailer }, { createElement }, { EditionLayout }] = await Promise.all([
    import('@react-email/render'),
    import('nodemailer'),
    import('react'),
    import('../emails/_components/edition-layout.tsx'),
  ]);
  const tokens = new Tokens(BENCH_SECRET);
  const site = { baseUrl: config.baseUrl, postalAddress: config.postalAddress, timezone: config.timezone };
  const pool = nodemailer.createTransport({ url: config.smtp.url, pool: true, maxConnections: input.connections, maxMessages: Infinity });
  const renderFor = async (id: number) => {
    const links = recipientLinks(config.baseUrl, tokens, id, edition.kind);
    const html = await render(createElement(EditionLayout, { edition, links, site }));
    return { html, text: toPlainText(html), links };
  };
  await renderFor(1); // warm-up (the first render loads and compiles the components), not timed
  let next = 1;
  let sent = 0;
  const started = performance.now();
  const worker = async () => {
    while (next <= input.count) {
      const id = next++;
      const { html, text, links } = await renderFor(id);
      await pool.sendMail({
        from: config.from,
        to: benchAddress(id),
        subject: edition.subject,
        html,
        text,
        headers: {
          'List-Unsubscribe': `<${links.unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          'List-Id': `Sunday <sunday.${config.mailDomain}>`,
        },
      });
      sent++;
    }
  };
  try {
    await Promise.all(Array.from({ length: input.connections }, worker));
  } finally {
    pool.close();
  }
  const ms = performance.now() - started;
  return { ms, sent, msgsPerSecond: (sent * 1000) / ms };
}

/** Everything one bench run measured. */
export interface BenchResult {
  machine: string;
  subscribers: number;
  connections: number;
  seedMs: number;
  sender: SenderReport;
  msgsPerSecond: number;
  ledger: { batch1: { ms: number; usPerMessage: number }; batchC: { ms: number; usPerMessage: number } };
  baseline: { count: number; ms: number; msgsPerSecond: number };
  sink: SinkCounts;
  /** CPU the sink process used during the send, as a share of one core (Linux). */
  sinkCpuShare: number | undefined;
  speedup: number;
  load: number[];
  /**
   * The same send DKIM-signed (`--dkim`), against the same sink, right after the unsigned one: the
   * first signed run's figures, every pair's throughputs, and the median of the pairs' ratios.
   */
  signed?: { sender: SenderReport; msgsPerSecond: number; sinkCpuShare: number | undefined; algorithms: string; pairs: DkimPair[]; ratio: number; maxRssMb: number };
  /** The same send with ALMANAC_TRACKING=clicks (`--tracking`), against the same sink. */
  tracked?: { sender: SenderReport; msgsPerSecond: number };
  /** The same send on PostgreSQL (`--db`): one sender, and `--senders N` sharing the edition. */
  postgres?: { one: PostgresRun; many?: PostgresRun };
}

/** One unsigned send and the signed send right after it (`--dkim`), with the 1-minute load average before the pair. */
export interface DkimPair {
  load: number;
  unsigned: number;
  signed: number;
  ratio: number;
  /** Peak RSS of the signed sender process, MB. */
  signedRssMb: number;
  /** Event loop thread's CPU per message (Linux), unsigned and signed. */
  mainThreadUs?: [number, number];
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One send of the edition on PostgreSQL by one or more sender processes started together. */
export interface PostgresRun {
  senders: SenderReport[];
  /** All messages over the time from the first sender's start to the last one's end. */
  msgsPerSecond: number;
}

/** Runs `count` sender processes together on a fresh, seeded PostgreSQL database; checks that they sent everyone once between them. */
async function postgresRun(options: BenchOptions, input: Omit<SenderInput, 'dbPath'>, count: number): Promise<PostgresRun> {
  const db = await freshPostgres(options.db!, `${count}s`);
  try {
    await seedDatabase(db.url, options.subscribers);
    const senders = await Promise.all(Array.from({ length: count }, () => runSenderProcess({ ...input, dbPath: db.url })));
    const sent = senders.reduce((a, r) => a + r.sent, 0);
    if (sent !== options.subscribers || senders.some((r) => !r.complete)) {
      throw new Error(`bench: the PostgreSQL send with ${count} sender(s) did not complete once per subscriber: ${JSON.stringify(senders)}`);
    }
    const wallMs = Math.max(...senders.map((r) => r.endedAt)) - Math.min(...senders.map((r) => r.startedAt));
    return { senders, msgsPerSecond: (sent * 1000) / wallMs };
  } finally {
    await db.drop();
  }
}

async function postgresRuns(options: BenchOptions, input: Omit<SenderInput, 'dbPath'>, say: (line: string) => void): Promise<NonNullable<BenchResult['postgres']>> {
  say(`bench: the same send on PostgreSQL (${redactUrl(options.db!)}), one sender`);
  const one = await postgresRun(options, input, 1);
  if (options.senders <= 1) return { one };
  say(`bench: the same send on PostgreSQL, ${options.senders} sender processes sharing the edition`);
  return { one, many: await postgresRun(options, input, options.senders) };
}

/** The summary JSON (the last line of the output); the first six keys are fixed by issue 7. */
export function resultJson(r: BenchResult): Record<string, unknown> {
  const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    subscribers: r.subscribers,
    msgs_per_s: round(r.msgsPerSecond),
    baseline_msgs_per_s: round(r.baseline.msgsPerSecond),
    speedup: round(r.speedup),
    peak_rss_mb: round(r.sender.maxRssMb),
    render_ms: round(r.sender.renderMs),
    connections: r.connections,
    engine_msgs_per_s: round((r.sender.sent * 1000) / r.sender.engineMs),
    sender_cpu_us_per_msg: round(r.sender.cpuUsPerMessage),
    ledger_us_per_msg: round(r.ledger.batchC.usPerMessage, 2),
    ledger_us_per_msg_unbatched: round(r.ledger.batch1.usPerMessage, 2),
    message_kb: round(r.sink.bytes / Math.max(1, r.sink.messages) / 1024),
    sink_messages: r.sink.messages,
    baseline_sample: r.baseline.count,
    load_avg_1m: r.load[0],
    ...(r.signed
      ? {
          dkim: r.signed.algorithms,
          dkim_msgs_per_s: round(r.signed.msgsPerSecond),
          dkim_ratio: round(r.signed.ratio, 2),
          dkim_pair_ratios: r.signed.pairs.map((p) => round(p.ratio, 2)),
          dkim_pairs: r.signed.pairs.map((p) => ({ load_avg_1m: p.load, msgs_per_s: round(p.unsigned), dkim_msgs_per_s: round(p.signed), dkim_peak_rss_mb: round(p.signedRssMb) })),
          dkim_peak_rss_mb: round(r.signed.maxRssMb),
          dkim_sender_cpu_us_per_msg: round(r.signed.sender.cpuUsPerMessage),
          ...(r.signed.sender.mainThreadCpuUsPerMessage !== undefined && r.sender.mainThreadCpuUsPerMessage !== undefined
            ? { main_thread_cpu_us_per_msg: round(r.sender.mainThreadCpuUsPerMessage), dkim_main_thread_cpu_us_per_msg: round(r.signed.sender.mainThreadCpuUsPerMessage) }
            : {}),
        }
      : {}),
    ...(r.tracked
      ? {
          tracking_msgs_per_s: round(r.tracked.msgsPerSecond),
          tracking_ratio: round(r.tracked.msgsPerSecond / r.msgsPerSecond, 2),
          tracking_sender_cpu_us_per_msg: round(r.tracked.sender.cpuUsPerMessage),
        }
      : {}),
    ...(r.postgres
      ? {
          pg_msgs_per_s: round(r.postgres.one.msgsPerSecond),
          pg_ratio: round(r.postgres.one.msgsPerSecond / r.msgsPerSecond, 2),
          pg_peak_rss_mb: round(r.postgres.one.senders[0]!.maxRssMb),
          ...(r.postgres.many
            ? {
                pg_senders: r.postgres.many.senders.length,
                pg_many_msgs_per_s: round(r.postgres.many.msgsPerSecond),
                pg_many_ratio_to_one: round(r.postgres.many.msgsPerSecond / r.postgres.one.msgsPerSecond, 2),
                pg_many_peak_rss_mb: round(Math.max(...r.postgres.many.senders.map((x) => x.maxRssMb))),
                pg_many_sent_by_sender: r.postgres.many.senders.map((x) => x.sent),
              }
            : {}),
        }
      : {}),
  };
}

/** The readable table printed before the JSON line. */
export function formatTable(r: BenchResult): string {
  const f = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const ledgerShare = (r.ledger.batchC.ms / r.sender.wallMs) * 100;
  const rows: [string, string][] = [
    ['machine', r.machine],
    ['load average (1/5/15 min) at the start', r.load.map((x) => x.toFixed(2)).join(' / ')],
    ['subscribers (active, Sunday)', f(r.subscribers)],
    ['pooled SMTP connections', String(r.connections)],
    ['message size (average received by the sink)', `${f(r.sink.bytes / Math.max(1, r.sink.messages) / 1024, 1)} KB`],
    ['seeding (one transaction, parent process)', `${f(r.seedMs)} ms`],
    ['compose + render (once, cold, sender process)', `${f(r.sender.renderMs, 1)} ms`],
    ['send, end to end (runSend: compose → render → ledger → SMTP)', `${f(r.sender.wallMs)} ms`],
    ['throughput, end to end', `${f(r.msgsPerSecond)} msg/s`],
    ['throughput, send loop only (sendEdition)', `${f((r.sender.sent * 1000) / r.sender.engineMs)} msg/s`],
    ['sink CPU during the send (separate process)', r.sinkCpuShare === undefined ? 'n/a' : `${f(r.sinkCpuShare * 100)}% of one core`],
    ['sender CPU (user + system) per message', `${f(r.sender.cpuUsPerMessage)} µs (${f((r.sender.cpuUsPerMessage * r.sender.sent) / r.sender.wallMs / 10)}% of one core)`],
    ['ledger writes in isolation, batched like the loop', `${f(r.ledger.batchC.ms)} ms (${f(r.ledger.batchC.usPerMessage, 1)} µs/msg, ~${f(ledgerShare, 1)}% of the send)`],
    ['ledger writes in isolation, one transaction per step', `${f(r.ledger.batch1.ms)} ms (${f(r.ledger.batch1.usPerMessage, 1)} µs/msg)`],
    ['peak RSS of the sender process (maxRSS)', `${f(r.sender.maxRssMb, 1)} MB (${f(r.sender.rssBeforeMb, 1)} MB before the send)`],
    [
      'memory peaks during the send (sampled)',
      `heap used ${f(r.sender.memoryPeaksMb.heapUsed)} / total ${f(r.sender.memoryPeaksMb.heapTotal)} MB, external ${f(r.sender.memoryPeaksMb.external)} MB (buffers ${f(r.sender.memoryPeaksMb.arrayBuffers)})`,
    ],
    [`naive baseline (React render + sendMail per message, ${f(r.baseline.count)} msgs)`, `${f(r.baseline.msgsPerSecond, 1)} msg/s`],
    ['speedup over the baseline', `${f(r.speedup, 1)}×`],
    [
      'sink received',
      `${f(r.sink.messages)} messages = ${f(r.subscribers)} sent${r.signed ? ` + ${f(r.subscribers)} signed${r.signed.pairs.length > 1 ? ` + ${r.signed.pairs.length - 1} × ${f(r.subscribers)} unsigned and signed (pairs 2–${r.signed.pairs.length})` : ''}` : ''}${r.tracked ? ` + ${f(r.subscribers)} tracked` : ''}${r.postgres ? ` + ${r.postgres.many ? 2 : 1} × ${f(r.subscribers)} on PostgreSQL` : ''} + ${f(r.baseline.count)} baseline`,
    ],
  ];
  if (r.tracked) {
    const t = r.tracked;
    rows.push(
      ['tracked send (ALMANAC_TRACKING=clicks), end to end', `${f(t.msgsPerSecond)} msg/s = ${f(t.msgsPerSecond / r.msgsPerSecond, 2)}× untracked (${f(r.msgsPerSecond)} msg/s)`],
      ['tracked: sender CPU (user + system) per message', `${f(t.sender.cpuUsPerMessage)} µs (untracked ${f(r.sender.cpuUsPerMessage)} µs)`],
    );
  }
  if (r.signed) {
    const s = r.signed;
    rows.push(
      [`DKIM-signed send (${s.algorithms}), end to end`, `${f(s.msgsPerSecond)} msg/s = ${f(s.msgsPerSecond / r.msgsPerSecond, 2)}× unsigned (${f(r.msgsPerSecond)} msg/s)`],
      ...s.pairs.slice(1).map((p, i): [string, string] => [`pair ${i + 2}: unsigned, then signed (load ${p.load.toFixed(2)})`, `${f(p.unsigned)} → ${f(p.signed)} msg/s = ${f(p.ratio, 2)}×`]),
      [`signed ÷ unsigned, median of ${s.pairs.length} alternating pair${s.pairs.length === 1 ? '' : 's'}`, `${f(s.ratio, 2)}× (${s.pairs.map((p) => f(p.ratio, 2)).join(', ')})`],
      ['signed: send loop only (sendEdition)', `${f((s.sender.sent * 1000) / s.sender.engineMs)} msg/s`],
      ['signed: sender CPU (user + system, all threads) per message', `${f(s.sender.cpuUsPerMessage)} µs (unsigned ${f(r.sender.cpuUsPerMessage)} µs)`],
      [
        'signed: of which on the event loop thread',
        s.sender.mainThreadCpuUsPerMessage === undefined || r.sender.mainThreadCpuUsPerMessage === undefined
          ? 'n/a'
          : `${f(s.sender.mainThreadCpuUsPerMessage)} µs (unsigned ${f(r.sender.mainThreadCpuUsPerMessage)} µs)`,
      ],
      ['signed: sink CPU during the send', s.sinkCpuShare === undefined ? 'n/a' : `${f(s.sinkCpuShare * 100)}% of one core`],
      ['signed: peak RSS of the sender process (maxRSS, highest of the signed runs)', `${f(s.maxRssMb, 1)} MB (unsigned ${f(r.sender.maxRssMb, 1)} MB)`],
    );
  }
  if (r.postgres) {
    const one = r.postgres.one;
    rows.push(
      ['PostgreSQL, one sender, end to end', `${f(one.msgsPerSecond)} msg/s = ${f(one.msgsPerSecond / r.msgsPerSecond, 2)}× SQLite (${f(r.msgsPerSecond)} msg/s)`],
      ['PostgreSQL, one sender: CPU per message', `${f(one.senders[0]!.cpuUsPerMessage)} µs (SQLite ${f(r.sender.cpuUsPerMessage)} µs)`],
      ['PostgreSQL, one sender: peak RSS (maxRSS)', `${f(one.senders[0]!.maxRssMb, 1)} MB`],
    );
    const many = r.postgres.many;
    if (many) {
      rows.push(
        [`PostgreSQL, ${many.senders.length} senders together, end to end`, `${f(many.msgsPerSecond)} msg/s = ${f(many.msgsPerSecond / one.msgsPerSecond, 2)}× one sender`],
        [`PostgreSQL, ${many.senders.length} senders: sent by each`, many.senders.map((x) => f(x.sent)).join(' + ')],
        [`PostgreSQL, ${many.senders.length} senders: peak RSS of each (maxRSS)`, many.senders.map((x) => `${f(x.maxRssMb, 1)} MB`).join(', ')],
      );
    }
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** "2× <CPU model>, 8 GB, Linux, Node 20.x". */
export function machineLine(): string {
  const list = cpus();
  return `${list.length}× ${list[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB, ${platform()}, Node ${process.versions.node}`;
}

/** Runs the whole bench; prints the table and the JSON line to `out`; throws if any message is missing. */
export async function main(argv: string[] = process.argv.slice(2), out: NodeJS.WritableStream = process.stdout): Promise<BenchResult> {
  const options = parseBenchArgs(argv);
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  const dir = mkdtempSync(join(tmpdir(), 'almanac-bench-'));
  const dbPath = join(dir, 'almanac.db');
  const say = (line: string) => out.write(`${line}\n`);
  try {
    // The edition must be the full Sunday the figures describe.
    const precheck = loadConfig({ ALMANAC_CONTENT_DIR: options.contentDir, ALMANAC_DB: dbPath });
    const { edition } = await composeEdition(BENCH_KIND, BENCH_DATE, precheck, options.contentDir);
    if (edition.news.length !== 12 || edition.guides.length !== 3) {
      throw new Error(
        `bench: expected the Sunday edition of ${BENCH_DATE} from ${options.contentDir} to have 12 news items and 3 guides, found ${edition.news.length} and ${edition.guides.length}`,
      );
    }
    say(`bench: seeding ${options.subscribers.toLocaleString('en-US')} subscribers in ${dbPath}`);
    const { ms: seedMs } = await seedDatabase(dbPath, options.subscribers);
    // The signed run sends the same edition to the same subscribers: from a copy made before any send.
    const pairs = options.dkim ? options.pairs : 0;
    const pairDbPaths = Array.from({ length: pairs }, (_, i) => ({ unsigned: i === 0 ? dbPath : join(dir, `almanac-unsigned-${i + 1}.db`), signed: join(dir, `almanac-signed-${i + 1}.db`) }));
    for (const [i, p] of pairDbPaths.entries()) {
      if (i > 0) copyFileSync(dbPath, p.unsigned);
      copyFileSync(dbPath, p.signed);
    }
    const trackedDbPath = join(dir, 'almanac-tracked.db');
    if (options.tracking) copyFileSync(dbPath, trackedDbPath);
    const sinkProcess = await startSinkProcess();
    let sink: SinkCounts | undefined;
    try {
      say(`bench: SMTP sink pid ${sinkProcess.pid} on 127.0.0.1:${sinkProcess.port}; sending ${edition.id} (${options.connections} connections)`);
      const input: SenderInput = { dbPath, contentDir: options.contentDir, port: sinkProcess.port, connections: options.connections };
      const sinkCpu0 = processCpuSeconds(sinkProcess.pid);
      const sender = await runSenderProcess(input);
      const sinkCpu1 = processCpuSeconds(sinkProcess.pid);
      const sinkCpuShare = sinkCpu0 !== undefined && sinkCpu1 !== undefined ? (sinkCpu1 - sinkCpu0) / (sender.wallMs / 1000) : undefined;
      if (sender.sent !== options.subscribers || !sender.complete) {
        throw new Error(`bench: the send did not complete: ${JSON.stringify(sender)}`);
      }
      let signed: BenchResult['signed'];
      if (options.dkim) {
        const dkim = benchDkim(options.ed25519);
        const algorithms = dkim.ed25519 ? 'rsa-sha256 2048 + ed25519-sha256' : 'rsa-sha256 2048';
        const pairResults: DkimPair[] = [];
        let first: { report: SenderReport; sinkCpuShare: number | undefined } | undefined;
        let maxRssMb = 0;
        for (const [i, paths] of pairDbPaths.entries()) {
          let unsignedReport = sender;
          const pairLoad = i === 0 ? load[0]! : Math.round(loadavg()[0]! * 100) / 100;
          if (i > 0) {
            say(`bench: pair ${i + 1} of ${pairs}: unsigned`);
            unsignedReport = await runSenderProcess({ ...input, dbPath: paths.unsigned });
            if (unsignedReport.sent !== options.subscribers || !unsignedReport.complete) throw new Error(`bench: the unsigned send of pair ${i + 1} did not complete: ${JSON.stringify(unsignedReport)}`);
          }
          say(i === 0 ? `bench: the same send DKIM-signed (${algorithms}, key generated for this run)` : `bench: pair ${i + 1} of ${pairs}: signed`);
          const cpu0 = processCpuSeconds(sinkProcess.pid);
          const report = await runSenderProcess({ ...input, dbPath: paths.signed, dkim });
          const cpu1 = processCpuSeconds(sinkProcess.pid);
          if (report.sent !== options.subscribers || !report.complete) throw new Error(`bench: the signed send did not complete: ${JSON.stringify(report)}`);
          first ??= { report, sinkCpuShare: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / (report.wallMs / 1000) : undefined };
          maxRssMb = Math.max(maxRssMb, report.maxRssMb);
          const u = (unsignedReport.sent * 1000) / unsignedReport.wallMs;
          const sg = (report.sent * 1000) / report.wallMs;
          const mains = unsignedReport.mainThreadCpuUsPerMessage !== undefined && report.mainThreadCpuUsPerMessage !== undefined ? { mainThreadUs: [unsignedReport.mainThreadCpuUsPerMessage, report.mainThreadCpuUsPerMessage] as [number, number] } : {};
          pairResults.push({ load: pairLoad, unsigned: u, signed: sg, ratio: sg / u, signedRssMb: report.maxRssMb, ...mains });
        }
        signed = {
          sender: first!.report,
          msgsPerSecond: (first!.report.sent * 1000) / first!.report.wallMs,
          sinkCpuShare: first!.sinkCpuShare,
          algorithms,
          pairs: pairResults,
          ratio: median(pairResults.map((p) => p.ratio)),
          maxRssMb,
        };
      }
      let tracked: BenchResult['tracked'];
      if (options.tracking) {
        say('bench: the same send with ALMANAC_TRACKING=clicks');
        const report = await runSenderProcess({ ...input, dbPath: trackedDbPath, tracking: true });
        if (report.sent !== options.subscribers || !report.complete) throw new Error(`bench: the tracked send did not complete: ${JSON.stringify(report)}`);
        tracked = { sender: report, msgsPerSecond: (report.sent * 1000) / report.wallMs };
      }
      const postgres = options.db ? await postgresRuns(options, { contentDir: options.contentDir, port: sinkProcess.port, connections: options.connections }, say) : undefined;
      const ledger = {
        batch1: await measureLedger(dbPath, options.subscribers, 1),
        batchC: await measureLedger(dbPath, options.subscribers, options.connections),
      };
      const count = Math.min(options.baseline, options.subscribers);
      say(`bench: naive baseline on ${count.toLocaleString('en-US')} recipients`);
      const config = benchConfig(input);
      const baseline = await runBaseline({ edition, config, count, connections: options.connections });
      sink = await sinkProcess.stop();
      const pgSends = postgres ? (postgres.many ? 2 : 1) : 0;
      const expected = options.subscribers * (1 + (signed ? 2 * pairs - 1 : 0) + (tracked ? 1 : 0) + pgSends) + baseline.sent;
      if (sink.messages !== expected || sink.recipients !== expected) {
        throw new Error(
          `bench: the sink received ${sink.messages} messages (${sink.recipients} recipients), expected ${options.subscribers}${signed ? ` + ${2 * pairs - 1} × ${options.subscribers} (unsigned and signed pairs)` : ''}${tracked ? ` + ${options.subscribers} tracked` : ''}${pgSends ? ` + ${pgSends} × ${options.subscribers} on PostgreSQL` : ''} + ${baseline.sent} baseline`,
        );
      }
      const msgsPerSecond = (sender.sent * 1000) / sender.wallMs;
      const result: BenchResult = {
        machine: machineLine(),
        subscribers: options.subscribers,
        connections: options.connections,
        seedMs,
        sender,
        msgsPerSecond,
        ledger,
        baseline: { count: baseline.sent, ms: baseline.ms, msgsPerSecond: baseline.msgsPerSecond },
        sink,
        sinkCpuShare,
        speedup: msgsPerSecond / baseline.msgsPerSecond,
        load,
        signed,
        tracked,
        postgres,
      };
      say('');
      say(formatTable(result));
      say(JSON.stringify(resultJson(result)));
      return result;
    } finally {
      if (!sink) await sinkProcess.stop().catch(() => undefined);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  try {
    await main(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  }
}
