/**
 * The bench's sender child (scripts/bench.ts step 3): compose and render the edition once, then the
 * real `runSend` end to end, reporting its timings, CPU and memory as one JSON line on stdout.
 *
 * It runs from the compiled build (scripts/build.mjs), as `npm run almanac -- send` does, so the
 * memory it reports is what an operator's send holds. Under tsx: `tsx scripts/bench-sender.ts '<input JSON>'`.
 * It imports only the parts of scripts/bench/ the child needs (edition, CPU time, isMain), never the
 * parent's: those files are listed in INPUTS of scripts/build.mjs, which checks the bundle against them.
 */
import { Writable } from 'node:stream';
import { runSend } from '../src/commands/send.ts';
import { processCpuSeconds } from './bench/cpu-time.ts';
import { BENCH_DATE, BENCH_KIND, benchConfig, renderBenchEdition, type BenchDkim } from './bench/edition.ts';
import { isMain } from './bench/entry.ts';

/** Input of the sender child process. */
export interface SenderInput {
  dbPath: string;
  contentDir: string;
  port: number;
  connections: number;
  /** Sign every copy with these keys. */
  dkim?: BenchDkim;
  /** Send with ALMANAC_TRACKING=clicks. */
  tracking?: boolean;
}

/** What the sender child reports (one JSON line on stdout). */
export interface SenderReport {
  /** Wall clock (ms since the epoch) when runSend was called and when it returned: several senders are timed together. */
  startedAt: number;
  endedAt: number;
  /** Compose + render of the edition, the first (cold) time in this process. */
  renderMs: number;
  /** runSend from call to return: compose, render, checks, every send, the summary. */
  wallMs: number;
  /** The engine's own duration (sendEdition's run, without compose/render). */
  engineMs: number;
  sent: number;
  complete: boolean;
  exitCode: number;
  ledgerSent: number;
  maxRssMb: number;
  /** RSS before runSend (modules loaded, edition rendered once). */
  rssBeforeMb: number;
  /** CPU time (user + system) the sender process spent in runSend, per message sent. */
  cpuUsPerMessage: number;
  /** The same for the event loop's thread alone (Linux; undefined elsewhere): the rest ran on libuv's thread pool. */
  mainThreadCpuUsPerMessage: number | undefined;
  /** Highest values of process.memoryUsage() sampled every 100 ms during runSend, MB. */
  memoryPeaksMb: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

/** The sender child's work: compose + render once (timed), then the real `runSend` end to end. */
export async function senderChild(input: SenderInput): Promise<SenderReport> {
  const config = benchConfig(input);
  const t0 = performance.now();
  await renderBenchEdition(config, input.contentDir);
  const renderMs = performance.now() - t0;
  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;

  let out = '';
  const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const collect = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      out += chunk.toString();
      cb();
    },
  });
  const peaks = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k] / 2 ** 20);
  };
  const sampler = setInterval(sample, 100);
  const cpu0 = process.cpuUsage();
  const main0 = processCpuSeconds(process.pid, process.pid);
  const startedAt = Date.now();
  const t1 = performance.now();
  const result = await runSend(config, {
    kind: BENCH_KIND,
    date: BENCH_DATE,
    contentDir: input.contentDir,
    out: collect,
    err: sink as unknown as NodeJS.WriteStream,
    progress: false,
  });
  const wallMs = performance.now() - t1;
  const endedAt = Date.now();
  const cpu = process.cpuUsage(cpu0);
  const main1 = processCpuSeconds(process.pid, process.pid);
  clearInterval(sampler);
  sample();
  const summary = result.summary;
  if (!summary) throw new Error(`the bench's send did not run: ${out}`);
  return {
    startedAt,
    endedAt,
    renderMs,
    wallMs,
    engineMs: summary.durationMs,
    sent: summary.sent,
    complete: summary.complete,
    exitCode: result.exitCode,
    ledgerSent: summary.ledger.sent,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    rssBeforeMb,
    cpuUsPerMessage: (cpu.user + cpu.system) / Math.max(1, summary.sent),
    mainThreadCpuUsPerMessage: main0 !== undefined && main1 !== undefined ? ((main1 - main0) * 1e6) / Math.max(1, summary.sent) : undefined,
    memoryPeaksMb: peaks,
  };
}

if (isMain(import.meta.url)) {
  const report = await senderChild(JSON.parse(process.argv[2]!) as SenderInput);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
