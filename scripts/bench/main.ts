/**
 * One bench run (`npm run bench`), step by step: check the edition, seed the database (and its
 * copies for the extra sends), start the sink, run the sends, time the ledger alone and the naive
 * baseline, check the sink got every message, and print the table and the JSON line.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import type { Edition } from '../../src/editions/compose.ts';
import type { SenderInput } from '../bench-sender.ts';
import { parseBenchArgs, type BenchOptions } from './args.ts';
import { measureLedger, runBaseline } from './baseline.ts';
import { BENCH_DATE, benchConfig, composeBenchEdition } from './edition.ts';
import { startSinkProcess, type SinkCounts } from './processes.ts';
import { formatTable, loadAverages, machineLine, resultJson, type BenchResult } from './report.ts';
import { dkimPairs, postgresRuns, sendRate, timedSend, trackedSend, type PairDatabases, type Say } from './runs.ts';
import { seedDatabase } from './seed.ts';

/** The edition the figures describe, refused unless it is the full Sunday (12 news items, 3 guides). */
async function fullSunday(contentDir: string, dbPath: string): Promise<Edition> {
  const edition = await composeBenchEdition(loadConfig({ ALMANAC_CONTENT_DIR: contentDir, ALMANAC_DB: dbPath }), contentDir);
  if (edition.news.length !== 12 || edition.guides.length !== 3) {
    throw new Error(`expected the Sunday edition of ${BENCH_DATE} from ${contentDir} to have 12 news items and 3 guides, found ${edition.news.length} and ${edition.guides.length}`);
  }
  return edition;
}

/** Copies of the seeded database made before any send: the extra sends reach the same subscribers. */
function databaseCopies(dir: string, dbPath: string, options: BenchOptions): { pairs: PairDatabases[]; tracked: string } {
  const count = options.dkim ? options.pairs : 0;
  const pairs = Array.from({ length: count }, (_, i) => ({ unsigned: i === 0 ? dbPath : join(dir, `almanac-unsigned-${i + 1}.db`), signed: join(dir, `almanac-signed-${i + 1}.db`) }));
  for (const [i, p] of pairs.entries()) {
    if (i > 0) copyFileSync(dbPath, p.unsigned);
    copyFileSync(dbPath, p.signed);
  }
  const tracked = join(dir, 'almanac-tracked.db');
  if (options.tracking) copyFileSync(dbPath, tracked);
  return { pairs, tracked };
}

/** Throws unless the sink received exactly the messages of every send and of the baseline. */
function checkSink(sink: SinkCounts, r: Pick<BenchResult, 'subscribers' | 'signed' | 'tracked' | 'postgres'>, baselineSent: number): void {
  const n = r.subscribers;
  const pairs = r.signed ? 2 * r.signed.pairs.length - 1 : 0;
  const pgSends = r.postgres ? (r.postgres.many ? 2 : 1) : 0;
  const expected = n * (1 + pairs + (r.tracked ? 1 : 0) + pgSends) + baselineSent;
  if (sink.messages !== expected || sink.recipients !== expected) {
    throw new Error(
      `the sink received ${sink.messages} messages (${sink.recipients} recipients), expected ${n}${pairs ? ` + ${pairs} × ${n} (unsigned and signed pairs)` : ''}${r.tracked ? ` + ${n} tracked` : ''}${pgSends ? ` + ${pgSends} × ${n} on PostgreSQL` : ''} + ${baselineSent} baseline`,
    );
  }
}

/** Runs the whole bench; prints the table and the JSON line to `out`; throws if any message is missing. */
export async function main(argv: string[] = process.argv.slice(2), out: NodeJS.WritableStream = process.stdout): Promise<BenchResult> {
  const options = parseBenchArgs(argv);
  const load = loadAverages();
  const dir = mkdtempSync(join(tmpdir(), 'almanac-bench-'));
  const dbPath = join(dir, 'almanac.db');
  const say: Say = (line) => void out.write(`${line}\n`);
  try {
    const edition = await fullSunday(options.contentDir, dbPath);
    say(`bench: seeding ${options.subscribers.toLocaleString('en-US')} subscribers in ${dbPath}`);
    const { ms: seedMs } = await seedDatabase(dbPath, options.subscribers);
    const copies = databaseCopies(dir, dbPath, options);
    const sinkProcess = await startSinkProcess();
    let sink: SinkCounts | undefined;
    try {
      say(`bench: SMTP sink pid ${sinkProcess.pid} on 127.0.0.1:${sinkProcess.port}; sending ${edition.id} (${options.connections} connections)`);
      const input: SenderInput = { dbPath, contentDir: options.contentDir, port: sinkProcess.port, connections: options.connections };
      const { report: sender, sinkCpuShare } = await timedSend(input, sinkProcess.pid, options.subscribers, 'the send');
      const signed = options.dkim ? await dkimPairs({ options, input, sinkPid: sinkProcess.pid, plain: sender, load: load[0]!, say }, copies.pairs) : undefined;
      const tracked = options.tracking ? await trackedSend({ ...input, dbPath: copies.tracked }, options.subscribers, say) : undefined;
      const postgres = options.db ? await postgresRuns(options, { contentDir: options.contentDir, port: sinkProcess.port, connections: options.connections }, say) : undefined;
      const ledger = { batch1: await measureLedger(dbPath, options.subscribers, 1), batchC: await measureLedger(dbPath, options.subscribers, options.connections) };
      const count = Math.min(options.baseline, options.subscribers);
      say(`bench: naive baseline on ${count.toLocaleString('en-US')} recipients`);
      const baseline = await runBaseline({ edition, config: benchConfig(input), count, connections: options.connections });
      sink = await sinkProcess.stop();
      checkSink(sink, { subscribers: options.subscribers, signed, tracked, postgres }, baseline.sent);
      const msgsPerSecond = sendRate(sender);
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
