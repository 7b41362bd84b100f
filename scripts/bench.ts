/**
 * Throughput and memory of the real send path at newsletter scale (issue 7).
 * `npm run bench [-- --subscribers N] [--baseline N] [--connections C] [--dkim] [--ed25519] [--tracking] [--db postgres://… [--senders N]]`
 *
 * 1. Seeds N active subscribers into a temporary SQLite database (one transaction, multi-row inserts).
 * 2. Starts scripts/bench/smtp-sink.ts (a discarding SMTP server) in its own process on loopback.
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
import { BENCH_USAGE } from './bench/args.ts';
import { isMain, runMain } from './bench/entry.ts';
import { main } from './bench/main.ts';

// The parts, by concern, in scripts/bench/: args (command line), processes (sink and sender
// children), seed and database (subscribers, fresh PostgreSQL databases), baseline (ledger alone,
// naive sender), runs (the sends), report (table, JSON line, machine line), main (one run).
export { main };
export { parseBenchArgs, type BenchOptions } from './bench/args.ts';
export { median, type BenchResult } from './bench/report.ts';

if (isMain(import.meta.url)) await runMain('bench', BENCH_USAGE, (argv) => main(argv));
