/**
 * The bench's command line (`npm run bench -- …`), and the flag checks every bench shares:
 * errors say which flag, what was expected and what was found.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isPostgresUrl, redactUrl } from '../../src/store/dialect.ts';
import { UsageError } from './entry.ts';
import { CONTENT_DIR } from './paths.ts';

/** `npm run bench -- --help`. */
export const BENCH_USAGE = `
npm run bench [-- --subscribers N] [--baseline N] [--connections C] [--content DIR] [--dkim [--pairs N]] [--ed25519] [--tracking] [--db postgres://… [--senders N]]

Sends the Sunday edition of 2026-11-22 to N seeded subscribers through the real send path, to a
discarding SMTP server on loopback; prints a table and, as the last line, one JSON object.

  --subscribers N   active subscribers seeded (default 20000)
  --baseline N      recipients of the naive baseline, a React render + sendMail each (default 1000)
  --connections C   pooled SMTP connections (default 5)
  --content DIR     content directory (default: the shipped content)
  --dkim            also send DKIM-signed (RSA-2048 key generated for the run)
  --ed25519         with --dkim, an Ed25519 signature beside the RSA one (implies --dkim)
  --pairs N         with --dkim, alternating unsigned/signed pairs; the ratio is their median (default 3)
  --tracking        also send with ALMANAC_TRACKING=clicks
  --db URL          also send on this PostgreSQL server, in fresh databases (the user needs CREATEDB)
  --senders N       with --db, also N sender processes sharing the edition (default 1)
`;

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

/** The integer value of `--name`, `fallback` when absent; throws unless it is an integer >= `min`. */
export function integerFlag(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer >= ${min}, found ${JSON.stringify(raw)}`);
  return n;
}

/** The PostgreSQL URL of `--name` (undefined when absent); throws, without its password, unless it is one. */
export function postgresUrlFlag(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && !isPostgresUrl(raw)) throw new UsageError(`--${name}: expected a postgres:// or postgresql:// URL, found ${JSON.stringify(redactUrl(raw))}`);
  return raw;
}

/** Parses the bench's flags (see BENCH_USAGE); errors say what was expected. */
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
  const db = postgresUrlFlag('db', values.db);
  if (values.senders !== undefined && db === undefined) throw new UsageError('--senders: needs --db postgres://… (several senders share an edition on PostgreSQL only)');
  if (values.pairs !== undefined && values.dkim !== true && values.ed25519 !== true) throw new UsageError('--pairs: needs --dkim (pairs of unsigned and signed sends)');
  return {
    subscribers: integerFlag('subscribers', values.subscribers, 20_000),
    baseline: integerFlag('baseline', values.baseline, 1_000),
    connections: integerFlag('connections', values.connections, 5),
    contentDir: resolve(values.content ?? CONTENT_DIR),
    dkim: values.dkim === true || values.ed25519 === true,
    ed25519: values.ed25519 === true,
    tracking: values.tracking === true,
    ...(db !== undefined ? { db } : {}),
    senders: integerFlag('senders', values.senders, 1),
    pairs: integerFlag('pairs', values.pairs, 3),
  };
}
