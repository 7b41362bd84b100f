/**
 * What one bench run measured, and how it is shown: the readable table, then the summary JSON as
 * the last line (its first six keys are fixed by issue 7). Also the machine line, load averages and
 * medians the other benches report with.
 */
import { cpus, loadavg, platform, totalmem } from 'node:os';
import type { SenderReport } from '../bench-sender.ts';
import type { LedgerTiming } from './baseline.ts';
import type { SinkCounts } from './processes.ts';

/** Everything one bench run measured. */
export interface BenchResult {
  machine: string;
  subscribers: number;
  connections: number;
  seedMs: number;
  sender: SenderReport;
  msgsPerSecond: number;
  /** The ledger's writes alone, one transaction per step and batched like the send loop. */
  ledger: { batch1: LedgerTiming; batchC: LedgerTiming };
  /** The naive baseline: `count` messages. */
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

/** The 1, 5 and 15-minute load averages, to two decimals (the machine may be shared: figures are read beside them). */
export function loadAverages(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}
