/**
 * Bounce storm benchmark: N subscribers got an edition through a relay that said 250 to all of them,
 * then N bounces come back at once (a bad import). Writes the N messages (a mix of Postfix, Gmail,
 * Exchange Online, Exim and qmail formats, each for its copy's VERP address) to a directory and times
 * ONE `almanac bounces ingest DIR` run, the real command in a child process.
 *
 *   npm run bench:bounces -- [--messages 10000] [--db postgres://…]
 *
 * Without --db it uses a new SQLite file in a temporary directory. With --db the database must be
 * empty (no subscribers, deliveries or suppressions); the bench empties those tables again at the end.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { loadConfig } from '../src/config.ts';
import { newMessageId } from '../src/delivery/mime.ts';
import { transaction } from '../src/store/dialect.ts';
import type { Store } from '../src/store/handle.ts';
import { loadSecret } from '../src/store/secret.ts';
import { integerFlag, postgresUrlFlag } from './bench/args.ts';
import { countRows, withStore } from './bench/database.ts';
import { isMain, runMain, UsageError } from './bench/entry.ts';
import { ROOT } from './bench/paths.ts';
import { loadAverages } from './bench/report.ts';
import { benchAddress, idPages, insertSubscribers } from './bench/seed.ts';

const FIXTURES = join(ROOT, 'tests', 'fixtures', 'bounces');
const FORMATS = ['postfix-user-unknown', 'gmail-no-such-user', 'microsoft365-recipient-not-found', 'exim-user-unknown', 'qmail-no-mailbox'];
const EDITION_ID = '2026-11-25-midweek';

/** `npm run bench:bounces -- --help`. */
export const BOUNCES_USAGE = `
npm run bench:bounces -- [--messages N] [--db postgres://…]

Seeds N subscribers who each got a copy of an edition, writes one bounce per copy (Postfix, Gmail,
Exchange Online, Exim and qmail formats) to a directory, and times one \`almanac bounces ingest DIR\`
run. Last line: one JSON object.

  --messages N   bounces (default 10000)
  --db URL       an empty PostgreSQL database, emptied again at the end (default: a new SQLite file)
`;

/** What the benchmark measured. */
export interface BounceBenchResult {
  messages: number;
  /** sqlite or postgres. */
  db: string;
  seconds: number;
  messages_per_s: number;
  bounced: number;
  exit_code: number;
  /** One-minute load average when the run ended (this machine's 2 cores are shared). */
  load_average: number;
}

/** `--messages N` (default 10,000), `--db postgres://…` (default: a new SQLite file). */
export function parseBounceBenchArgs(argv: string[]): { messages: number; db?: string } {
  const { values } = parseArgs({ args: argv, options: { messages: { type: 'string' }, db: { type: 'string' } }, strict: true });
  const messages = integerFlag('messages', values.messages, 10_000);
  const db = postgresUrlFlag('db', values.db);
  return db ? { messages, db } : { messages };
}

/** Tables the bench fills (and, on a --db database, empties again). */
const TABLES = ['deliveries', 'suppressions', 'subscribers'] as const;

/** Refuses a --db database that already holds subscribers, deliveries or suppressions (the bench would mix with them). */
async function requireEmpty(store: Store): Promise<void> {
  for (const table of TABLES) {
    const n = await countRows(store, table);
    if (n > 0) throw new UsageError(`--db: ${store.label} is not empty (table ${table} has ${n} rows); use an empty database`);
  }
}

/** N active subscribers, each with a copy of EDITION_ID the relay accepted (250), in batched inserts; returns their addresses and Message-IDs. */
async function seed(store: Store, messages: number, mailDomain: string): Promise<{ email: string; messageId: string }[]> {
  const now = new Date().toISOString();
  const copies = Array.from({ length: messages }, (_, i) => ({ email: benchAddress(i + 1), messageId: newMessageId(mailDomain) }));
  await transaction(store, async (tx) => {
    await insertSubscribers(tx, messages, now);
    for (const { from, to } of idPages(messages)) {
      const rows = copies.slice(from - 1, to).map((c, j) => ({ edition_id: EDITION_ID, subscriber_id: from + j, email: c.email, state: 'sent' as const, attempts: 1, last_reply: '250 2.0.0 Ok: queued', message_id: c.messageId, created_at: now, updated_at: now, late_status: null, late_diagnostic: null, late_source: null, late_at: null }));
      await tx.insertInto('deliveries').values(rows).execute();
    }
  });
  return copies;
}

/** Writes one bounce per copy into `dir`, each to its copy's VERP address, cycling through the formats. */
function writeBounces(dir: string, copies: { email: string; messageId: string }[], verpAddress: (id: number) => string): void {
  const templates = FORMATS.map((f) => readFileSync(join(FIXTURES, `${f}.eml`), 'utf8').replace(/\r?\n/g, '\r\n'));
  copies.forEach((c, n) => {
    const i = n + 1;
    const raw = templates[i % templates.length]!.replaceAll('{{TO}}', verpAddress(i)).replaceAll('{{RCPT}}', c.email).replaceAll('{{MESSAGE_ID}}', c.messageId);
    writeFileSync(join(dir, `${String(i).padStart(6, '0')}.eml`), raw);
  });
}

/** Seeds the database and the bounce directory, runs one ingest, and reports. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<BounceBenchResult> {
  const { messages, db } = parseBounceBenchArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'almanac-bounce-bench-'));
  let seeded = false; // only then does a --db database get emptied at the end
  try {
    const env = {
      ALMANAC_DB: db ?? join(dir, 'almanac.db'),
      ALMANAC_SECRET: 'bounce-bench-secret-0123456789',
      ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example',
    };
    const config = loadConfig(env);
    const bounces = join(dir, 'bounces');
    // The store is closed before the ingest, another process: on SQLite this one must not hold the file meanwhile.
    await withStore(config.dbPath, async (store) => {
      if (db) await requireEmpty(store);
      const secret = await loadSecret(store, config);
      mkdirSync(bounces);
      seeded = true;
      const copies = await seed(store, messages, config.mailDomain);
      writeBounces(bounces, copies, (id) => verpEnvelopeSender(config, secret, EDITION_ID, id));
    });
    out.write(`${messages} bounces written; ingesting them in one run (${db ? 'PostgreSQL' : 'SQLite'})…\n`);
    const started = performance.now();
    let exitCode = 0;
    try {
      await promisify(execFile)(process.execPath, ['scripts/almanac.mjs', 'bounces', 'ingest', bounces], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
        maxBuffer: 512 * 1024 * 1024,
      });
    } catch (error) {
      exitCode = (error as { code?: number }).code ?? 1;
    }
    const seconds = (performance.now() - started) / 1000;
    const bounced = await withStore(config.dbPath, async (store) => {
      const row = await store.db.selectFrom('subscribers').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'bounced').executeTakeFirstOrThrow();
      return Number(row.n);
    });
    const result: BounceBenchResult = { messages, db: db ? 'postgres' : 'sqlite', seconds: Math.round(seconds * 100) / 100, messages_per_s: Math.round(messages / seconds), bounced, exit_code: exitCode, load_average: loadAverages()[0]! };
    out.write(`${messages} bounces in ${result.seconds} s (${result.messages_per_s} messages/s, whole command incl. start-up, load average ${result.load_average}); ${bounced} subscribers bounced\n`);
    out.write(`${JSON.stringify(result)}\n`);
    return result;
  } finally {
    if (db && seeded) {
      await withStore(db, (store) =>
        transaction(store, async (tx) => {
          for (const table of TABLES) await tx.deleteFrom(table).execute();
        }),
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await runMain('bench:bounces', BOUNCES_USAGE, (argv) => main(argv));
