/**
 * Sending with tracking on versus off (issue 18): the per-copy part of the send path that tracking
 * touches, measured over real SMTP.
 * `npm run -s bench:tracking [-- --copies N] [--rounds R]`
 *
 * Tracking rewrites the rendered edition ONCE (src/tracking/rewrite.ts); what each copy then costs
 * differs only by its bytes (tracked URLs are longer than some originals) and, with personal
 * tracking, one more slot filled per tracked link. So the bench renders the Sunday edition of
 * 2026-11-22 from the shipped content once, then for each mode (off, clicks, clicks personal)
 * compiles the MIME template and sends N copies, each built by the real buildMessage with its own
 * recipient links, through a pooled nodemailer transport (5 connections, raw messages) to
 * scripts/bench/smtp-sink.ts in its own process. After a warm-up round, modes are interleaved (rotating
 * order) over R rounds; the best round of each mode is reported (the machine is shared). Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { loadConfig } from '../src/config.ts';
import { buildMessage, compileMessage, messageCommonFor } from '../src/delivery/mime.ts';
import type { RenderedEdition } from '../src/render/types.ts';
import { rewriteEdition } from '../src/tracking/rewrite.ts';
import { TrackingTokens } from '../src/tracking/token.ts';
import { integerFlag } from './bench/args.ts';
import { BENCH_BASE_URL, BENCH_KIND, BENCH_SECRET, renderBenchEdition } from './bench/edition.ts';
import { isMain, runMain } from './bench/entry.ts';
import { CONTENT_DIR } from './bench/paths.ts';
import { startSinkProcess } from './bench/processes.ts';

const MODES = ['off', 'clicks', 'clicks personal'] as const;
type Mode = (typeof MODES)[number];

/** `npm run bench:tracking -- --help`. */
export const TRACKING_USAGE = `
npm run -s bench:tracking [-- --copies N] [--rounds R]

Sends N copies of the Sunday edition per tracking mode (off, clicks, clicks personal) over pooled
SMTP to a discarding sink on loopback, modes interleaved over R rounds after a warm-up; reports the
best round of each. Last line: one JSON object.

  --copies N   copies per mode and round (default 5000)
  --rounds R   counted rounds (default 3)
`;

/** Runs the bench; returns messages per second per mode. */
export async function main(argv: string[] = process.argv.slice(2), out: NodeJS.WritableStream = process.stdout) {
  const { values } = parseArgs({ args: argv, options: { copies: { type: 'string' }, rounds: { type: 'string' } }, strict: true });
  const copies = integerFlag('copies', values.copies, 5000);
  const rounds = integerFlag('rounds', values.rounds, 3);
  const config = loadConfig({ ALMANAC_BASE_URL: BENCH_BASE_URL, ALMANAC_CONTENT_DIR: CONTENT_DIR, ALMANAC_SECRET: BENCH_SECRET });
  const { edition, rendered } = await renderBenchEdition(config);
  const tokens = new TrackingTokens(config.secret!);
  const editions: Record<Mode, RenderedEdition> = {
    off: rendered,
    clicks: rewriteEdition(rendered, edition, { baseUrl: config.baseUrl, tokens, opens: false, personal: false }).rendered,
    'clicks personal': rewriteEdition(rendered, edition, { baseUrl: config.baseUrl, tokens, opens: false, personal: true }).rendered,
  };
  const sink = await startSinkProcess();
  const best: Record<Mode, { msgsPerSecond: number; buildMicros: number; bytes: number }> = {} as never;
  try {
    // Round 0 warms up (JIT, connections) and is not counted; the order of the modes rotates each round.
    for (let round = 0; round <= rounds; round++) {
      for (const mode of [...MODES.slice(round % 3), ...MODES.slice(0, round % 3)]) {
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 5, maxMessages: Infinity });
        const template = compileMessage(editions[mode], messageCommonFor(config, BENCH_KIND));
        let buildNs = 0n;
        let bytes = 0;
        const started = performance.now();
        let next = 0;
        const worker = async () => {
          while (next < copies) {
            const id = ++next;
            const t = process.hrtime.bigint();
            const links = {
              unsubscribeUrl: `${config.baseUrl}/unsubscribe/${String(id).padStart(32, 'u')}`,
              preferencesUrl: `${config.baseUrl}/preferences/${String(id).padStart(32, 'p')}`,
              ...(mode === 'clicks personal' ? { trackingReader: tokens.reader(edition.id, id) } : {}),
            };
            const raw = buildMessage(template, { to: `reader${id}@example.com`, links, messageId: `<${id}.bench@almanac.example>`, date: new Date() });
            buildNs += process.hrtime.bigint() - t;
            bytes += raw.length;
            await transport.sendMail({ envelope: { from: 'newsletter@almanac.example', to: [`reader${id}@example.com`] }, raw });
          }
        };
        await Promise.all(Array.from({ length: 10 }, worker));
        const seconds = (performance.now() - started) / 1000;
        transport.close();
        const figure = { msgsPerSecond: Math.round(copies / seconds), buildMicros: Number(buildNs / BigInt(copies)) / 1000, bytes: Math.round(bytes / copies) };
        if (round > 0 && (!best[mode] || figure.msgsPerSecond > best[mode].msgsPerSecond)) best[mode] = figure;
      }
    }
  } finally {
    await sink.stop().catch(() => undefined);
  }
  const ratio = (mode: Mode) => Number((best[mode].msgsPerSecond / best.off.msgsPerSecond).toFixed(3));
  const lines = MODES.map((m) => `  ${m.padEnd(16)} ${String(best[m].msgsPerSecond).padStart(6)} msg/s  (${(ratio(m) * 100).toFixed(1)}% of off)  build ${best[m].buildMicros.toFixed(1)} µs/copy  ${best[m].bytes} bytes/copy`);
  const result = { copies, rounds, ...Object.fromEntries(MODES.map((m) => [m, { ...best[m], ratioToOff: ratio(m) }])) };
  out.write([`sending with tracking on vs off: ${copies} copies per mode over SMTP (loopback sink), best of ${rounds} interleaved rounds`, ...lines, JSON.stringify(result), ''].join('\n'));
  return result;
}

if (isMain(import.meta.url)) await runMain('bench:tracking', TRACKING_USAGE, (argv) => main(argv));
