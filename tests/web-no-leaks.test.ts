import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import type { Transport } from '../src/delivery/transport.ts';
import { jsonLogger, oneLine } from '../src/log.ts';
import { clearSecrets, redact, registerSecretsOf } from '../src/redact.ts';
import { redactUrl } from '../src/store/target.ts';
import { createWebServer } from '../src/web/server.ts';
import { almanac } from './cli.ts';
import { freePort, tempDir, testConfig } from './helpers.ts';
import { freshStore, freshTarget, PG_SKIP_REASON, PG_URL, cleanUp } from './store-db.ts';

// Item 9 of issue 23: nothing internal reaches a stranger, no password given as ?password= is
// printed, and no logged value can start a log line of its own.

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  clearSecrets();
  await cleanUp();
});

const transport = { send: async () => { throw new Error('no mail here'); }, close: async () => {} } as unknown as Transport;

describe('/healthz', () => {
  test('says "database unavailable", never the driver\'s text; the operator\'s log has the detail once; the scheduler part names no error text', async () => {
    const { store, target } = await freshStore('sqlite');
    const logs: string[] = [];
    const leak = 'the database could not be reached: connect ECONNREFUSED 10.1.2.3:5432 (postgres://almanac@db.internal:5432/almanac)';
    const server: Server = await createWebServer({
      config: testConfig({ ALMANAC_DB: target, ALMANAC_SECRET: 'test-secret-0123456789abcdef' }),
      store,
      transport,
      contentDir: '.',
      log: (line) => logs.push(line),
      health: () => ({
        running: true,
        last: { midweek: { edition: '2026-11-25-midweek', outcome: 'failed', at: '2026-11-25T07:00:00.000Z', detail: leak } },
        error: `2026-11-25-midweek: failed: ${leak}`,
      }),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;

    const up = await fetch(url);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({
      ok: true,
      db: 'ok',
      scheduler: { running: true, last: { midweek: { edition: '2026-11-25-midweek', outcome: 'failed', at: '2026-11-25T07:00:00.000Z' } }, error: '2026-11-25-midweek: failed' },
    });

    await store.close(); // the database stops answering
    for (let i = 0; i < 2; i++) {
      const down = await fetch(url);
      expect(down.status).toBe(503);
      const text = await down.text();
      expect(JSON.parse(text)).toMatchObject({ ok: false, db: 'database unavailable' });
      for (const internal of ['10.1.2.3', 'db.internal', 'ECONNREFUSED', 'destroyed', target]) expect(text).not.toContain(internal);
    }
    const said = logs.filter((l) => l.startsWith('healthz: the database does not answer: '));
    expect(said).toHaveLength(1); // once per change, not once per probe
    expect(said[0]!.length).toBeGreaterThan('healthz: the database does not answer: '.length);
  });
});

describe('a password given as ?password= is masked like one in the user-info part', () => {
  test('redact, the store label and registered values mask it; other parameters stay', () => {
    expect(redactUrl('postgres://almanac@db.internal:5432/almanac?sslmode=require&password=s3cret-Pw')).toBe('postgres://almanac@db.internal:5432/almanac?sslmode=require&password=***');
    expect(redact('at postgres://u@h/db?password=p%40ss&application_name=x: refused')).toBe('at postgres://u@h/db?password=***&application_name=x: refused');
    expect(redact('postgres://u:pw1@h/db?sslpassword=key-pass')).toBe('postgres://u:***@h/db?sslpassword=***');
    registerSecretsOf('ALMANAC_DB', 'postgres://u@h/db?password=hunter2-x');
    expect(redact('the server said: password "hunter2-x" is wrong')).toBe('the server said: password "***" is wrong');
  });

  test('ALMANAC_DB with ?password= on an unreachable server: the one line shows ***', async () => {
    const port = await freePort();
    const result = await almanac(['db', 'migrate'], { ALMANAC_DB: `postgres://almanac@127.0.0.1:${port}/almanac?password=s3cret-Pw&sslmode=disable` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot connect to PostgreSQL at postgres://almanac@127.0.0.1:${port}/almanac?password=***&sslmode=disable`);
    expect(result.stdout + result.stderr).not.toContain('s3cret-Pw');
  });

  test('db copy --to with ?password=: never printed, whatever fails', async () => {
    const port = await freePort();
    const source = await freshTarget('sqlite');
    const unreachable = await almanac(['db', 'copy', '--to', `postgres://almanac@127.0.0.1:${port}/copy?password=t0p-s3cret`], { ALMANAC_DB: source });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain('password=***');
    expect(unreachable.stdout + unreachable.stderr).not.toContain('t0p-s3cret');
    const notPostgres = await almanac(['db', 'copy', '--to', `mysql://almanac@h/copy?password=t0p-s3cret`], { ALMANAC_DB: source });
    expect(notPostgres.code).toBe(2);
    expect(notPostgres.stderr).toContain('found "mysql://almanac@h/copy?password=***"');
    expect(notPostgres.stdout + notPostgres.stderr).not.toContain('t0p-s3cret');
  });

  test('a configuration error shows the value with the query password masked', async () => {
    const result = await almanac(['subscribers', 'list'], { ALMANAC_DB: 'mysql://u@h/db?password=hunter22x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"mysql://u@h/db?password=***"');
    expect(result.stderr).not.toContain('hunter22x');
  });

  test.skipIf(!PG_URL)(`db migrate on PostgreSQL given ?password= prints the label masked${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, async () => {
    const target = await freshTarget('postgres');
    const withPassword = `${target}?password=never-printed-pw`;
    const result = await almanac(['db', 'migrate'], { ALMANAC_DB: withPassword });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${target}?password=***: schema version after:`);
    expect(result.stdout + result.stderr).not.toContain('never-printed-pw');
  });
});

describe('a logged value never starts a log line of its own', () => {
  const FORGED = '{"time":"2026-11-25T07:00:00.000Z","level":"info","event":"forged"}';

  test('oneLine and the JSON logger escape line breaks (\\n, \\r, U+2028)', () => {
    expect(oneLine(`a\nb\r\nc\u2028d\u0085e\u001b[31m\tf`)).toBe('a\\nb\\r\\nc\\u2028d\\u0085e\\u001b[31m\tf');
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    jsonLogger(out, () => new Date('2026-11-25T07:00:00Z'))('bounces.applied', { line: `x\n${FORGED}\u2028${FORGED}` });
    expect(text.split('\n')).toHaveLength(2); // one line and the final newline
    expect(text).not.toContain('\u2028');
    expect(JSON.parse(text).line).toBe(`x\n${FORGED}\u2028${FORGED}`);
  });

  test('an SNS Type with a newline: `almanac serve` logs one line', async () => {
    const child: ChildProcess = spawn(process.execPath, ['scripts/almanac.mjs', 'serve', '--host', '127.0.0.1', '--port', '0'], {
      env: { ...process.env, ALMANAC_DB: join(tempDir(), 'almanac.db'), ALMANAC_SECRET: 'test-secret-0123456789abcdef', SES_SNS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:almanac-ses', ALMANAC_CONTENT_DIR: 'content', ALMANAC_OUTBOX: join(tempDir(), 'outbox') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanup.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    });
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    const origin = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const body = { Type: `Notification\n${FORGED}`, MessageId: 'm', TopicArn: 'x', Message: '{}', Timestamp: '2026-11-25T07:00:00Z', SignatureVersion: '2', Signature: 'x', SigningCertURL: 'x' };
    const res = await fetch(`${origin}/webhooks/ses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    for (let i = 0; i < 500 && !err.includes('forged'); i++) await new Promise((r) => setTimeout(r, 20));
    const lines = err.split('\n').filter(Boolean);
    expect(lines.some((l) => l.includes('unknown SNS message type Notification\\n{"time"'))).toBe(true);
    expect(lines.filter((l) => !l.startsWith('almanac serve: '))).toEqual([]);
  }, 60_000);

  test('a bounce subject with a newline: `bounces ingest` prints one line for the message', async () => {
    const dir = tempDir('almanac-ingest-');
    const file = join(dir, 'auto-reply.eml');
    writeFileSync(
      file,
      [
        'From: reader@example.org',
        'To: bounces@almanac.example',
        `Subject: =?UTF-8?Q?Out_of_office=0A${encodeURIComponent('forged: changed: complaint about everyone').replace(/%/g, '=')}?=`,
        'Message-ID: <auto-1@example.org>',
        'Date: Wed, 25 Nov 2026 08:00:00 +0000',
        '',
        'I am away.',
        '',
      ].join('\r\n'),
    );
    const result = await almanac(['bounces', 'ingest', file], { ALMANAC_DB: join(dir, 'almanac.db') });
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`${file}: `)).toBe(true);
    expect(lines[0]).toContain('Out of office\\nforged');
  }, 60_000);
});
