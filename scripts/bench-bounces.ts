/**
 * Bounce storm benchmark: N subscribers got an edition through a relay that said 250 to all of them,
 * then N bounces come back at once (a bad import). Writes the N messages (a mix of Postfix, Gmail,
 * Exchange Online, Exim and qmail formats, each for its copy's VERP address) to a directory and times
 * ONE `almanac bounces ingest DIR` run, the real command in a child process.
 *
 *   npm run bench:bounces -- [--messages 10000]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { verpEnvelopeSender } from '../src/bounces/verp.ts';
import { loadConfig } from '../src/config.ts';
import { openDb } from '../src/db.ts';
import { Ledger } from '../src/delivery/ledger.ts';
import { newMessageId } from '../src/delivery/mime.ts';
import { SubscriberStore } from '../src/subscribers/store.ts';
import { loadSecret } from '../src/subscribers/tokens.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'bounces');
const FORMATS = ['postfix-user-unknown', 'gmail-no-such-user', 'microsoft365-recipient-not-found', 'exim-user-unknown', 'qmail-no-mailbox'];
const EDITION_ID = '2026-11-25-midweek';

/** What the benchmark measured. */
export interface BounceBenchResult {
  messages: number;
  seconds: number;
  messages_per_s: number;
  bounced: number;
  exit_code: number;
  /** One-minute load average when the run ended (this machine's 2 cores are shared). */
  load_average: number;
}

/** `--messages N` (default 10,000). */
export function parseBounceBenchArgs(argv: string[]): { messages: number } {
  let messages = 10_000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--messages') {
      const v = argv[++i];
      if (!v || !/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--messages: expected an integer >= 1, found ${JSON.stringify(v)}`);
      messages = Number(v);
    } else throw new Error(`unknown argument ${JSON.stringify(argv[i])}: expected --messages N`);
  }
  return { messages };
}

/** Seeds the database and the bounce directory, runs one ingest, and reports. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<BounceBenchResult> {
  const { messages } = parseBounceBenchArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'almanac-bounce-bench-'));
  try {
    const env = {
      ALMANAC_DB: join(dir, 'almanac.db'),
      ALMANAC_SECRET: 'bounce-bench-secret-0123456789',
      ALMANAC_BOUNCE_ADDRESS: 'bounces@bounces.almanac.example',
    };
    const config = loadConfig(env);
    const db = openDb(config.dbPath);
    const store = new SubscriberStore(db);
    const ledger = new Ledger(db, EDITION_ID);
    const secret = loadSecret(db, config);
    const templates = FORMATS.map((f) => readFileSync(join(FIXTURES, `${f}.eml`), 'utf8').replace(/\r?\n/g, '\r\n'));
    const bounces = join(dir, 'bounces');
    mkdirSync(bounces);
    store.transaction(() => {
      for (let i = 1; i <= messages; i++) {
        const email = `storm${String(i).padStart(6, '0')}@example.org`;
        const s = store.add({ email, editions: ['midweek', 'sunday'] }).subscriber!;
        const messageId = newMessageId(config.mailDomain);
        ledger.markEndOfData(s.id, email, messageId);
        ledger.record({ subscriberId: s.id, state: 'sent', reply: '250 2.0.0 Ok: queued', messageId }, email);
        const raw = templates[i % templates.length]!
          .replaceAll('{{TO}}', verpEnvelopeSender(config, secret, EDITION_ID, s.id))
          .replaceAll('{{RCPT}}', email)
          .replaceAll('{{MESSAGE_ID}}', messageId);
        writeFileSync(join(bounces, `${String(i).padStart(6, '0')}.eml`), raw);
      }
    });
    db.close();
    out.write(`${messages} bounces written; ingesting them in one run…\n`);
    const started = performance.now();
    let exitCode = 0;
    try {
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'bounces', 'ingest', bounces], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
        maxBuffer: 512 * 1024 * 1024,
      });
    } catch (error) {
      exitCode = (error as { code?: number }).code ?? 1;
    }
    const seconds = (performance.now() - started) / 1000;
    const check = openDb(config.dbPath);
    const bounced = (check.prepare("SELECT count(*) AS n FROM subscribers WHERE status = 'bounced'").get() as { n: number }).n;
    check.close();
    const result: BounceBenchResult = { messages, seconds: Math.round(seconds * 100) / 100, messages_per_s: Math.round(messages / seconds), bounced, exit_code: exitCode, load_average: Math.round(loadavg()[0]! * 10) / 10 };
    out.write(`${messages} bounces in ${result.seconds} s (${result.messages_per_s} messages/s, whole command incl. start-up, load average ${result.load_average}); ${bounced} subscribers bounced\n`);
    out.write(`${JSON.stringify(result)}\n`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bench:bounces: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
