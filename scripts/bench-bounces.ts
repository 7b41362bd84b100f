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
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { loadConfig } from '../src/config.ts';
import { newMessageId } from '../src/delivery/mime.ts';
import { isPostgresUrl, redactUrl, ROWS_PER_STATEMENT, transaction } from '../src/store/dialect.ts';
import type { Store } from '../src/store/handle.ts';
import { openStore } from '../src/store/open.ts';
import { loadSecret } from '../src/store/secret.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'bounces');
const FORMATS = ['postfix-user-unknown', 'gmail-no-such-user', 'microsoft365-recipient-not-found', 'exim-user-unknown', 'qmail-no-mailbox'];
const EDITION_ID = '2026-11-25-midweek';

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
  let messages = 10_000;
  let db: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--messages') {
      const v = argv[++i];
      if (!v || !/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--messages: expected an integer >= 1, found ${JSON.stringify(v)}`);
      messages = Number(v);
    } else if (argv[i] === '--db') {
      const v = argv[++i];
      if (!v || !isPostgresUrl(v)) throw new Error(`--db: expected a postgres:// or postgresql:// URL, found ${JSON.stringify(v && redactUrl(v))}`);
      db = v;
    } else throw new Error(`unknown argument ${JSON.stringify(argv[i])}: expected --messages N or --db postgres://…`);
  }
  return db ? { messages, db } : { messages };
}

/** Tables the bench fills (and, on a --db database, empties again). */
const TABLES = ['deliveries', 'suppressions', 'subscribers'] as const;

/** Refuses a --db database that already holds subscribers, deliveries or suppressions (the bench would mix with them). */
async function requireEmpty(store: Store): Promise<void> {
  for (const table of TABLES) {
    const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(row.n) > 0) throw new Error(`--db: ${store.label} is not empty (table ${table} has ${row.n} rows); use an empty database`);
  }
}

/** N active subscribers, each with a copy of EDITION_ID the relay accepted (250), in batched inserts; returns their Message-IDs. */
async function seed(store: Store, messages: number, mailDomain: string): Promise<{ email: string; messageId: string }[]> {
  const now = new Date().toISOString();
  const copies = Array.from({ length: messages }, (_, i) => ({ email: `storm${String(i + 1).padStart(6, '0')}@example.org`, messageId: newMessageId(mailDomain) }));
  await transaction(store, async (tx) => {
    for (let from = 0; from < messages; from += ROWS_PER_STATEMENT) {
      const page = copies.slice(from, from + ROWS_PER_STATEMENT);
      await tx
        .insertInto('subscribers')
        .values(page.map((c, j) => ({ id: from + j + 1, email: c.email, name: null, status: 'active' as const, consent_source: 'operator', consent_ip: null, consent_wording: null, requested_at: now, confirmed_at: now, last_reply: null, created_at: now, updated_at: now })))
        .execute();
      await tx
        .insertInto('deliveries')
        .values(page.map((c, j) => ({ edition_id: EDITION_ID, subscriber_id: from + j + 1, email: c.email, state: 'sent' as const, attempts: 1, last_reply: '250 2.0.0 Ok: queued', message_id: c.messageId, created_at: now, updated_at: now, late_status: null, late_diagnostic: null, late_source: null, late_at: null })))
        .execute();
    }
  });
  return copies;
}

/** Seeds the database and the bounce directory, runs one ingest, and reports. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<BounceBenchResult> {
  const { messages, db } = parseBounceBenchArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'almanac-bounce-bench-'));
  let store: Store | undefined;
  let seeded = false; // only then does a --db database get emptied at the end
  try {
    const env = {
      ALMANAC_DB: db ?? join(dir, 'almanac.db'),
      ALMANAC_SECRET: 'bounce-bench-secret-0123456789',
      ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example',
    };
    const config = loadConfig(env);
    store = await openStore(config.dbPath);
    if (db) await requireEmpty(store);
    const secret = await loadSecret(store, config);
    const templates = FORMATS.map((f) => readFileSync(join(FIXTURES, `${f}.eml`), 'utf8').replace(/\r?\n/g, '\r\n'));
    const bounces = join(dir, 'bounces');
    mkdirSync(bounces);
    seeded = true;
    const copies = await seed(store, messages, config.mailDomain);
    copies.forEach((c, n) => {
      const i = n + 1;
      const raw = templates[i % templates.length]!
        .replaceAll('{{TO}}', verpEnvelopeSender(config, secret, EDITION_ID, i))
        .replaceAll('{{RCPT}}', c.email)
        .replaceAll('{{MESSAGE_ID}}', c.messageId);
      writeFileSync(join(bounces, `${String(i).padStart(6, '0')}.eml`), raw);
    });
    // The ingest is another process: on SQLite this one must not hold the file meanwhile.
    await store.close();
    store = undefined;
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
    store = await openStore(config.dbPath);
    const row = await store.db.selectFrom('subscribers').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'bounced').executeTakeFirstOrThrow();
    const bounced = Number(row.n);
    const result: BounceBenchResult = { messages, db: db ? 'postgres' : 'sqlite', seconds: Math.round(seconds * 100) / 100, messages_per_s: Math.round(messages / seconds), bounced, exit_code: exitCode, load_average: Math.round(loadavg()[0]! * 10) / 10 };
    out.write(`${messages} bounces in ${result.seconds} s (${result.messages_per_s} messages/s, whole command incl. start-up, load average ${result.load_average}); ${bounced} subscribers bounced\n`);
    out.write(`${JSON.stringify(result)}\n`);
    return result;
  } finally {
    if (db && seeded) {
      const s = store ?? (await openStore(db));
      store = s;
      await transaction(s, async (tx) => {
        for (const table of TABLES) await tx.deleteFrom(table).execute();
      });
    }
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bench:bounces: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
