/**
 * The sends of one bench run, each in sender processes of its own against the same sink: the
 * plain send, the DKIM-signed pairs (`--dkim`), the tracked send (`--tracking`) and the sends on
 * PostgreSQL (`--db`, `--senders`). Each checks that it reached every subscriber.
 */
import { generateKeyPairSync } from 'node:crypto';
import { redactUrl } from '../../src/store/dialect.ts';
import type { SenderInput, SenderReport } from '../bench-sender.ts';
import type { BenchOptions } from './args.ts';
import { cpuShare, processCpuSeconds } from './cpu-time.ts';
import { freshPostgres } from './database.ts';
import type { BenchDkim } from './edition.ts';
import { runCompleteSend, runSenderProcess } from './processes.ts';
import { loadAverages, median, type BenchResult, type DkimPair, type PostgresRun } from './report.ts';
import { seedDatabase } from './seed.ts';

/** Prints one progress line. */
export type Say = (line: string) => void;

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

/** Messages per second of one sender's run. */
export function sendRate(report: SenderReport): number {
  return (report.sent * 1000) / report.wallMs;
}

/** A complete send (see runCompleteSend), with the share of a core the sink process `sinkPid` used meanwhile. */
export async function timedSend(input: SenderInput, sinkPid: number, subscribers: number, what: string): Promise<{ report: SenderReport; sinkCpuShare: number | undefined }> {
  const before = processCpuSeconds(sinkPid);
  const report = await runCompleteSend(input, subscribers, what);
  return { report, sinkCpuShare: cpuShare(before, processCpuSeconds(sinkPid), report.wallMs) };
}

/** Where each pair of `--dkim` sends runs: pair 1's unsigned send is the plain send itself. */
export interface PairDatabases {
  unsigned: string;
  signed: string;
}

/**
 * `--dkim`: for each pair, an unsigned send (pair 1 reuses the plain send `plain`) then the same
 * send signed, each on its own copy of the seeded database. The machine's load drifts during a run,
 * so the ratio reported is the median of the pairs' ratios.
 */
export async function dkimPairs(
  run: { options: BenchOptions; input: SenderInput; sinkPid: number; plain: SenderReport; load: number; say: Say },
  databases: PairDatabases[],
): Promise<NonNullable<BenchResult['signed']>> {
  const { options, input, say } = run;
  const dkim = benchDkim(options.ed25519);
  const algorithms = dkim.ed25519 ? 'rsa-sha256 2048 + ed25519-sha256' : 'rsa-sha256 2048';
  const pairs: DkimPair[] = [];
  let first: { report: SenderReport; sinkCpuShare: number | undefined } | undefined;
  let maxRssMb = 0;
  for (const [i, paths] of databases.entries()) {
    let unsigned = run.plain;
    const load = i === 0 ? run.load : loadAverages()[0]!;
    if (i > 0) {
      say(`bench: pair ${i + 1} of ${databases.length}: unsigned`);
      unsigned = await runCompleteSend({ ...input, dbPath: paths.unsigned }, options.subscribers, `the unsigned send of pair ${i + 1}`);
    }
    say(i === 0 ? `bench: the same send DKIM-signed (${algorithms}, key generated for this run)` : `bench: pair ${i + 1} of ${databases.length}: signed`);
    const signed = await timedSend({ ...input, dbPath: paths.signed, dkim }, run.sinkPid, options.subscribers, 'the signed send');
    first ??= signed;
    maxRssMb = Math.max(maxRssMb, signed.report.maxRssMb);
    const mains = unsigned.mainThreadCpuUsPerMessage !== undefined && signed.report.mainThreadCpuUsPerMessage !== undefined ? { mainThreadUs: [unsigned.mainThreadCpuUsPerMessage, signed.report.mainThreadCpuUsPerMessage] as [number, number] } : {};
    const u = sendRate(unsigned);
    const s = sendRate(signed.report);
    pairs.push({ load, unsigned: u, signed: s, ratio: s / u, signedRssMb: signed.report.maxRssMb, ...mains });
  }
  return { sender: first!.report, msgsPerSecond: sendRate(first!.report), sinkCpuShare: first!.sinkCpuShare, algorithms, pairs, ratio: median(pairs.map((p) => p.ratio)), maxRssMb };
}

/** `--tracking`: the same send with ALMANAC_TRACKING=clicks, on its own copy of the seeded database. */
export async function trackedSend(input: SenderInput, subscribers: number, say: Say): Promise<NonNullable<BenchResult['tracked']>> {
  say('bench: the same send with ALMANAC_TRACKING=clicks');
  const report = await runCompleteSend({ ...input, tracking: true }, subscribers, 'the tracked send');
  return { sender: report, msgsPerSecond: sendRate(report) };
}

/** Runs `count` sender processes together on a fresh, seeded PostgreSQL database; checks that they sent everyone once between them. */
async function postgresRun(options: BenchOptions, input: Omit<SenderInput, 'dbPath'>, count: number): Promise<PostgresRun> {
  const db = await freshPostgres(options.db!, `${count}s`);
  try {
    await seedDatabase(db.url, options.subscribers);
    const senders = await Promise.all(Array.from({ length: count }, () => runSenderProcess({ ...input, dbPath: db.url })));
    const sent = senders.reduce((a, r) => a + r.sent, 0);
    if (sent !== options.subscribers || senders.some((r) => !r.complete)) {
      throw new Error(`the PostgreSQL send with ${count} sender(s) did not complete once per subscriber: ${JSON.stringify(senders)}`);
    }
    const wallMs = Math.max(...senders.map((r) => r.endedAt)) - Math.min(...senders.map((r) => r.startedAt));
    return { senders, msgsPerSecond: (sent * 1000) / wallMs };
  } finally {
    await db.drop();
  }
}

/** `--db`: the same send on PostgreSQL with one sender, then (`--senders N`, N > 1) with N senders sharing it. */
export async function postgresRuns(options: BenchOptions, input: Omit<SenderInput, 'dbPath'>, say: Say): Promise<NonNullable<BenchResult['postgres']>> {
  say(`bench: the same send on PostgreSQL (${redactUrl(options.db!)}), one sender`);
  const one = await postgresRun(options, input, 1);
  if (options.senders <= 1) return { one };
  say(`bench: the same send on PostgreSQL, ${options.senders} sender processes sharing the edition`);
  return { one, many: await postgresRun(options, input, options.senders) };
}
