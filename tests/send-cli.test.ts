import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { DialectName, Store } from '../src/store/handle.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { EDITION_DATE, EDITION_ID, address, fixtureContent, ledgerStates, receivedCounts, seedSubscribers } from './delivery-fixtures.ts';
import { pauseNotice } from '../src/delivery/outage.ts';
import { freePort, tempDir } from './helpers.ts';
import { TEST_TLS_CERT, startSmtpServer, type TestSmtpOptions, type TestSmtpServer } from './smtp.ts';
import { PG_SKIP_REASON, PG_URL, cleanUp, describeEachDb, freshTarget, openTracked } from './store-db.ts';

const ROOT = resolve(import.meta.dirname, '..');

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

interface Env {
  dbPath: string;
  contentDir: string;
  env: Record<string, string>;
  db: Store;
  emails: string[];
}

/** A fresh database (SQLite file or PostgreSQL) seeded through the store, fixture content, and the environment for a child `almanac`. */
async function environment(subscribers: number, server: TestSmtpServer | undefined, extra: Record<string, string> = {}, dialect: DialectName = 'sqlite'): Promise<Env> {
  const dir = tempDir('almanac-send-cli-');
  const dbPath = dialect === 'sqlite' ? join(dir, 'almanac.db') : await freshTarget('postgres');
  const contentDir = fixtureContent();
  const db = await openTracked(dbPath); // closed (and a PostgreSQL database dropped) after the test
  const emails = await seedSubscribers(new SubscriberStore(db), Array.from({ length: subscribers }, (_, i) => address(i + 1)));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    ALMANAC_DB: dbPath,
    ALMANAC_CONTENT_DIR: contentDir,
    ALMANAC_OUTBOX: join(dir, 'outbox'),
    ALMANAC_BASE_URL: 'https://almanac.example',
    ALMANAC_SECRET: 'cli-test-secret-0123456789',
    SMTP_RETRY_BACKOFF_MS: '20',
    ...(server ? { SMTP_URL: server.url } : {}),
    ...extra,
  };
  return { dbPath, contentDir, env, db, emails };
}

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Starts `almanac <args>` in the repository root as ONE process (`node scripts/almanac.mjs`, the
 * compiled CLI run in that process; not npm, whose SIGKILL would leave the real process running).
 */
function almanac(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['scripts/almanac.mjs', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, done };
}

async function server(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const s = await startSmtpServer(options);
  cleanup.push(() => s.close());
  return s;
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const SEND = ['send', 'midweek', '--date', EDITION_DATE];

describeEachDb('almanac send (child process)', (dialect) => {
  test('killed with SIGKILL mid-run, then one plain re-run: every subscriber not reported in doubt has exactly one copy', async () => {
    const smtp = await server({ replyDelayMs: 25 });
    const e = await environment(250, smtp, {}, dialect);
    const first = almanac([...SEND, '--content', e.contentDir], e.env);
    await until(() => smtp.messages.length >= 40);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const afterKill = (await ledgerStates(e.db));
    const unfinished = Object.values(afterKill).filter((s) => s === 'sending' || s === 'in_doubt').length;
    expect(unfinished).toBeLessThanOrEqual(5); // at most one per connection (maxConnections)
    expect(Object.values(afterKill).filter((s) => s === 'sent').length).toBeLessThan(250);
    expect(smtp.messages.length).toBeLessThan(250);

    // Rows left 'sending' never had their end-of-data written: they are sent again. Only rows marked
    // in doubt (just before their end-of-data) may have arrived, and only they stay in doubt.
    const second = await almanac([...SEND, '--content', e.contentDir], e.env).done;
    const states = (await ledgerStates(e.db));
    const inDoubt = Object.entries(states).filter(([, s]) => s === 'in_doubt').map(([email]) => email);
    expect(inDoubt.length).toBe(Object.values(afterKill).filter((s) => s === 'in_doubt').length);
    expect(second.code).toBe(inDoubt.length > 0 ? 1 : 0); // in-doubt rows need a decision
    expect(second.stdout).toContain(`in doubt ${inDoubt.length}`);
    for (const email of inDoubt) expect(second.stdout).toContain(email);
    let received = receivedCounts(smtp.recipients());
    for (const email of e.emails) {
      if (inDoubt.includes(email)) expect(received.get(email) ?? 0, email).toBeLessThanOrEqual(1);
      else expect(received.get(email), email).toBe(1);
    }

    const third = await almanac([...SEND, '--content', e.contentDir, '--resend-unknown'], e.env).done;
    expect(third.code, third.stdout + third.stderr).toBe(0);
    received = receivedCounts(smtp.recipients());
    for (const email of e.emails) {
      const n = received.get(email) ?? 0;
      expect(n, email).toBeGreaterThanOrEqual(1);
      if (n > 1) expect(inDoubt, `duplicate for ${email}`).toContain(email);
    }
    expect(Object.values((await ledgerStates(e.db))).every((s) => s === 'sent')).toBe(true);

    const fourth = await almanac([...SEND, '--content', e.contentDir], e.env).done;
    expect(fourth.code).toBe(0);
    expect(fourth.stdout).toContain(`everyone already has ${EDITION_ID}: 250 sent`);
  });

  test.skipIf(dialect === 'postgres')('two concurrent runs of the same edition (SQLite): the second refuses with exit 3; nobody gets two copies', async () => {
    // Slow replies until the second run has answered, so the first is still going however slow the machine.
    let secondDone = false;
    const smtp = await server({ replyDelayMs: () => (secondDone ? 0 : 200) });
    const e = await environment(300, smtp);
    const first = almanac([...SEND], e.env);
    await until(() => smtp.messages.length >= 5);
    const second = await almanac([...SEND], e.env).done;
    secondDone = true;
    expect(second.code).toBe(3);
    expect(second.stdout).toMatch(/another send of 2026-11-25-midweek is running \(owner [^)]+\)/);
    const firstDone = await first.done;
    expect(firstDone.code, firstDone.stdout + firstDone.stderr).toBe(0);
    const received = receivedCounts(smtp.recipients());
    for (const email of e.emails) expect(received.get(email), email).toBe(1);
  });

  test('SIGTERM: finishes what is in flight, records it, prints how to resume and exits 143', async () => {
    const smtp = await server({ replyDelayMs: 20 });
    const e = await environment(200, smtp, {}, dialect);
    const run = almanac([...SEND], e.env);
    await until(() => smtp.messages.length >= 20);
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.code).toBe(143);
    expect(result.stdout).toContain('Resume with: npm run -s almanac -- send midweek --date 2026-11-25');
    const states = Object.values((await ledgerStates(e.db)));
    expect(states).not.toContain('sending');
    expect(states.filter((s) => s === 'sent').length).toBe(smtp.messages.length); // every 250 recorded

    const resumed = await almanac([...SEND], e.env).done;
    expect(resumed.code).toBe(0);
    const received = receivedCounts(smtp.recipients());
    for (const email of e.emails) expect(received.get(email), email).toBe(1);
  });

  test('summary, report and report --failed tell who got it', async () => {
    const smtp = await server({
      onRcpt: (to) => (to === address(2) ? { code: 550, message: '5.1.1 No such user' } : to === address(3) ? { code: 451, message: '4.3.0 Later' } : 'accept'),
    });
    const e = await environment(5, smtp, { SMTP_RETRY_ATTEMPTS: '1', SMTP_RETRY_BACKOFF_MS: '5' }, dialect);
    const sent = await almanac([...SEND], e.env).done;
    expect(sent.code).toBe(1); // one deferred remains
    expect(sent.stdout).toContain(`${EDITION_ID}: sent 3 · bounced 1 · failed 0 · deferred 1 · in doubt 0 · skipped 0`);
    expect(sent.stdout).toMatch(/msg\/s/);
    expect(sent.stdout).toContain('retried by the next run: npm run -s almanac -- send midweek --date 2026-11-25');
    // log lines on stderr are JSON with the edition id
    const events = sent.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; editionId: string });
    expect(events.some((ev) => ev.event === 'recipient.bounced' && ev.editionId === EDITION_ID)).toBe(true);

    const report = await almanac(['report', EDITION_ID], e.env).done;
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/3\s+sent/);
    expect(report.stdout).toMatch(/1\s+bounced/);
    expect(report.stdout).toMatch(/1\s+deferred/);

    const failed = await almanac(['report', EDITION_ID, '--failed'], e.env).done;
    expect(failed.stdout).toMatch(new RegExp(`bounced\\s+${address(2)}\\s+attempts 1 .*550 5\\.1\\.1 No such user`));
    expect(failed.stdout).toMatch(new RegExp(`deferred\\s+${address(3)}\\s+attempts 2 .*451 4\\.3\\.0 Later`));

    const json = JSON.parse((await almanac(['report', EDITION_ID, '--json'], e.env).done).stdout) as { counts: Record<string, number> };
    expect(json.counts).toMatchObject({ sent: 3, bounced: 1, deferred: 1 });

    const unknown = await almanac(['report', '2026-12-02-midweek'], e.env).done;
    expect(unknown.code).toBe(1);
    const bad = await almanac(['report', 'yesterday'], e.env).done;
    expect(bad.code).toBe(2);
  });

  test('--to sends one [TEST] copy and leaves the ledger alone; --dry-run sends nothing', async () => {
    const smtp = await server();
    const e = await environment(3, smtp, {}, dialect);
    const test1 = await almanac([...SEND, '--to', 'editor@example.net'], e.env).done;
    expect(test1.code, test1.stderr).toBe(0);
    expect(smtp.recipients()).toEqual(['editor@example.net']);
    expect(smtp.messages[0]!.raw).toMatch(/^Subject: \[TEST\] /m);
    expect(await e.db.db.selectFrom('deliveries').selectAll().execute()).toEqual([]);

    const dry = await almanac([...SEND, '--dry-run'], e.env).done;
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`dry run: ${EDITION_ID} would go to 3 of 3 active subscribers`);
    expect(smtp.messages).toHaveLength(1);

    const usage = await almanac(['send', 'midweek', '--to', 'not-an-address'], e.env).done;
    expect(usage.code).toBe(2);
  });

});

describe('an outage says so in plain words', () => {
  afterEach(cleanUp);

  test('send to a relay that refuses connections prints one plain line per wait: what failed and when the next try is', async () => {
    const port = await freePort(); // nothing listens there: every connection is refused
    const e = await environment(2, undefined, { SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_RETRY_ATTEMPTS: '2', SMTP_RETRY_BACKOFF_MS: '200' });
    const started = Date.now();
    const run = await almanac(SEND, e.env).done;
    expect(run.code, run.stderr).toBe(1);
    const waits = run.stdout.split('\n').filter((line) => line.startsWith('waiting: '));
    const time = '\\d\\d:\\d\\d:\\d\\d UTC';
    const refused = `SMTP server unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`;
    expect(waits).toEqual([
      expect.stringMatching(new RegExp(`^waiting: ${refused}; next try at ${time} \\(in 200 ms, retry 1 of 2\\); nothing is lost`)),
      expect.stringMatching(new RegExp(`^waiting: ${refused}; next try at ${time} \\(in 400 ms, retry 2 of 2\\); nothing is lost`)),
    ]);
    // The time said is the wall clock's, a pause ahead: between the start and the end of the run (to the second).
    const [h, m, sec] = /next try at (\d\d):(\d\d):(\d\d)/.exec(waits[0]!)!.slice(1).map(Number) as [number, number, number];
    const secondOfDay = (ms: number) => Math.floor(ms / 1000) % 86_400;
    const after = (h * 3600 + m * 60 + sec - secondOfDay(started) + 86_400) % 86_400; // across midnight too
    expect(after).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);
    expect(run.stdout).toMatch(/stopped: the SMTP server did not come back/);
    expect(run.stdout.split('\n').some((line) => line.startsWith('{'))).toBe(false); // JSON stays on stderr
    expect(run.stderr).toMatch(/"event":"run.paused"/);
  });

  test.each([
    [{ failure: 'SMTP server unreachable: connect ECONNREFUSED 10.0.0.9:25', pauseMs: 30_000, retry: 1, retries: 3 }, 'Europe/Paris', 'waiting: SMTP server unreachable: connect ECONNREFUSED 10.0.0.9:25; next try at 01:00:15 CET (in 30 s, retry 1 of 3)'],
    [{ failure: 'SMTP server unreachable: connect ETIMEDOUT', pauseMs: 120_000, retry: 3, retries: 3 }, 'UTC', 'next try at 00:01:45 UTC (in 2 min, retry 3 of 3)'],
    [{ failure: 'database unreachable (record the replies): connection refused', pauseMs: 4_000, retry: 4 }, 'UTC', 'waiting: database unreachable (record the replies): connection refused; next try at 23:59:49 UTC (in 4 s, retry 4)'],
  ])('the wait line for %o in %s', (pause, zone, wanted) => {
    expect(pauseNotice(pause, new Date('2026-12-07T23:59:45Z'), zone)).toContain(wanted);
  });
});

/** This run's own sent count, from its summary line. */
function sentBy(stdout: string): number {
  const m = new RegExp(`${EDITION_ID}: sent ([\\d,]+)`).exec(stdout);
  if (!m) throw new Error(`no summary line in: ${stdout}`);
  return Number(m[1]!.replaceAll(',', ''));
}

describe.skipIf(!PG_URL)(`several senders share one edition on PostgreSQL (child processes)${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, () => {
  afterEach(cleanUp);

  test('two sender processes on one edition: each subscriber gets one copy, both did part of the work, neither refuses', async () => {
    const smtp = await server({ replyDelayMs: 5 });
    const e = await environment(1_200, smtp, { SMTP_MAX_CONNECTIONS: '3' }, 'postgres');
    const [a, b] = await Promise.all([almanac(SEND, e.env).done, almanac(SEND, e.env).done]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const received = receivedCounts(smtp.recipients());
    for (const email of e.emails) expect(received.get(email), email).toBe(1);
    expect(smtp.messages).toHaveLength(1_200);
    expect(sentBy(a.stdout)).toBeGreaterThan(0);
    expect(sentBy(b.stdout)).toBeGreaterThan(0);
    expect(sentBy(a.stdout) + sentBy(b.stdout)).toBe(1_200);
    const row = await e.db.db.selectFrom('editions').select('status').where('id', '=', EDITION_ID).executeTakeFirstOrThrow();
    expect(row.status).toBe('sent');
    const runs = await e.db.db.selectFrom('edition_runs').select(['run', 'outcome']).where('edition_id', '=', EDITION_ID).orderBy('run').execute();
    expect(runs).toEqual([{ run: 1, outcome: 'complete' }, { run: 2, outcome: 'complete' }]);
  });

  test('one of two senders killed with SIGKILL mid-run: the other takes over its claims, everyone gets it, no copy twice outside the in-doubt ones', async () => {
    const smtp = await server({ replyDelayMs: 10 });
    const e = await environment(800, smtp, { SMTP_MAX_CONNECTIONS: '3' }, 'postgres');
    const victim = almanac(SEND, e.env);
    const survivor = almanac(SEND, e.env);
    await until(() => smtp.messages.length >= 150);
    victim.child.kill('SIGKILL');
    expect((await victim.done).signal).toBe('SIGKILL');
    const done = await survivor.done; // takes the dead sender's claims once their lease (10 s) lapses
    const states = await ledgerStates(e.db);
    const inDoubt = Object.entries(states).filter(([, s]) => s === 'in_doubt').map(([email]) => email);
    expect(inDoubt.length).toBeLessThanOrEqual(3); // at most one per connection of the dead sender
    expect(done.code, done.stdout + done.stderr).toBe(inDoubt.length > 0 ? 1 : 0);
    expect(done.stderr).toContain('"event":"claim.takeover"');
    const received = receivedCounts(smtp.recipients());
    for (const email of e.emails) {
      if (inDoubt.includes(email)) expect(received.get(email) ?? 0, email).toBeLessThanOrEqual(1);
      else expect(received.get(email), email).toBe(1);
    }
    expect(Object.values(states).filter((s) => s === 'sent').length).toBe(800 - inDoubt.length);
    const row = await e.db.db.selectFrom('editions').select('status').where('id', '=', EDITION_ID).executeTakeFirstOrThrow();
    expect(row.status).toBe('sent');
  });
});

describe('almanac send (child process): transport', () => {
  test('TLS: STARTTLS on smtp://, TLS from the start on smtps://, the certificate verified; an untrusted one is refused', async () => {
    // The relays listen on loopback, where certificates are not verified by default: ask for it.
    for (const mode of ['starttls', 'implicit'] as const) {
      const smtp = await server({ tls: mode });
      // A relay with a private CA is trusted the Node way, as an operator would (README).
      const e = await environment(2, smtp, { SMTP_TLS_VERIFY: 'true', NODE_EXTRA_CA_CERTS: TEST_TLS_CERT });
      const run = await almanac(SEND, e.env).done;
      expect(run.code, run.stderr).toBe(0);
      expect(smtp.messages.map((m) => [m.to[0], m.secure]).sort()).toEqual(e.emails.map((to) => [to, true]).sort()); // two connections: any order
    }
    const smtp = await server({ tls: 'starttls' });
    const e = await environment(1, smtp, { SMTP_TLS_VERIFY: 'true' });
    const run = await almanac([...SEND, '--to', 'editor@example.net'], e.env).done;
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/self-signed certificate/i);
    expect(smtp.messages).toHaveLength(0);
  });

  test('TLS to a relay on loopback: STARTTLS with a self-signed or expired certificate is used, not refused (SMTP_TLS_VERIFY=auto)', async () => {
    // smtp-server with default options offers STARTTLS with its own, expired, certificate.
    const smtp = await server({ tls: 'starttls-builtin-cert' });
    const e = await environment(2, smtp);
    const run = await almanac(SEND, e.env).done;
    expect(run.code, run.stderr).toBe(0);
    expect(smtp.messages.map((m) => [m.to[0], m.secure]).sort()).toEqual(e.emails.map((to) => [to, true]).sort()); // two connections: any order
  });

  test('on a terminal, a live progress bar shows done/total, rate and ETA (run under script(1) for a real pty)', async () => {
    const smtp = await server({ replyDelayMs: 10 });
    const e = await environment(120, smtp);
    const command = [process.execPath, 'scripts/almanac.mjs', ...SEND].join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env: { ...e.env, COLUMNS: '120' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout!.on('data', (c: Buffer) => (screen += c.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(screen).toMatch(/\r\[#*-*\] \d+\/120 \d+% · [\d,]+ msg\/s · ETA /);
    expect(screen).toContain(`${EDITION_ID}: sent 120`);
  });
});
