import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openDb } from '../src/db.ts';
import { hashEmail } from '../src/subscribers/email.ts';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';

function setup() {
  const dir = tempDir();
  const env = { ALMANAC_DB: join(dir, 'almanac.db'), ALMANAC_SECRET: 'cli-test-secret-long-enough' };
  return { dir, env };
}

describe('almanac subscribers (child process)', () => {
  test('import adds good rows, reports each bad row by line with exit 1, and is idempotent', async () => {
    const { dir, env } = setup();
    const file = join(dir, 'list.csv');
    writeFileSync(
      file,
      '\uFEFFemail,name,editions\r\n' +
        'Ann@Example.com,Ann,"midweek,sunday"\r\n' + // 2 good
        'bob@example.com,"Bob, Jr",sunday\r\n' + // 3 good
        'not-an-email,X,\r\n' + // 4 bad email
        'carol@example.com,Carol,weekly\r\n' + // 5 unknown edition
        'ann@example.com,Ann again,both\r\n' + // 6 duplicate of line 2
        'dan@example.com,Dan,midweek,extra\r\n' + // 7 wrong column count
        'eve@example.com,,\r\n', // 8 good, both
    );
    const first = await almanac(['subscribers', 'import', file], env);
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('3 added');
    const bad = first.stderr.trim().split('\n');
    expect(bad).toEqual([
      `${file}:4: invalid email "not-an-email"`,
      `${file}:5: unknown edition "weekly" (expected midweek, sunday or both)`,
      `${file}:6: duplicate of line 2 (ann@example.com)`,
      `${file}:7: wrong column count: expected 3 (email,name,editions), found 4`,
    ]);

    const again = await almanac(['subscribers', 'import', file], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('0 added, 3 already present (unchanged)');

    const list = await almanac(['subscribers', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual({
      total: 3,
      byStatus: { pending: 0, active: 3, unsubscribed: 0, bounced: 0, complained: 0 },
      byEdition: { midweek: 2, sunday: 3 },
    });

    const good = join(dir, 'good.csv');
    writeFileSync(good, 'email,editions\nfay@example.com,sunday\n');
    const clean = await almanac(['subscribers', 'import', good], env);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('1 added');
  });

  test('add is operator consent; a suppressed address is refused with a clear message', async () => {
    const { env } = setup();
    const added = await almanac(['subscribers', 'add', 'Op@Example.com', '--name', 'Op', '--editions', 'sunday'], env);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('added op@example.com');
    const renamed = await almanac(['subscribers', 'add', 'op@example.com', '--name', 'Operator'], env);
    expect(renamed.stdout).toContain('editions: sunday)'); // without --editions, their choice stays
    const bad = await almanac(['subscribers', 'add', 'x@example.com', '--editions', 'daily'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown edition 'daily'");
    await almanac(['subscribers', 'remove', 'op@example.com'], env);
    const refused = await almanac(['subscribers', 'add', 'op@example.com'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refusing to add op@example.com: the address is suppressed');
  });

  test('export holds everything; remove then leaves no trace of the address in the database file', async () => {
    const { dir, env } = setup();
    const file = join(dir, 'one.csv');
    writeFileSync(file, 'email,name,editions\nforget.me@example.com,Forget Me,midweek\nkeep@example.com,Keep,sunday\n');
    expect((await almanac(['subscribers', 'import', file], env)).code).toBe(0);

    // A delivery history, as the sender writes it, including an SMTP reply that quotes the address.
    const db = openDb(env.ALMANAC_DB);
    const id = (db.prepare('SELECT id FROM subscribers WHERE email = ?').get('forget.me@example.com') as { id: number }).id;
    db.prepare(
      `INSERT INTO deliveries (edition_id, subscriber_id, email, state, attempts, last_reply, message_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, ?, '<m1@almanac.example>', '2026-11-18T07:00:01.000Z', '2026-11-18T07:00:02.000Z')`,
    ).run('2026-11-18-midweek', id, 'forget.me@example.com', 'sent', '250 2.0.0 OK queued for <Forget.Me@example.com>');
    db.close();

    const json = await almanac(['subscribers', 'export', '--format', 'json'], env);
    expect(json.code).toBe(0);
    const exported = JSON.parse(json.stdout) as { subscribers: Record<string, unknown>[] };
    const person = exported.subscribers.find((s) => s.email === 'forget.me@example.com')!;
    expect(person).toMatchObject({
      name: 'Forget Me',
      status: 'active',
      editions: ['midweek'],
      consent: { source: 'import' },
      deliveries: [{ editionId: '2026-11-18-midweek', state: 'sent', createdAt: '2026-11-18T07:00:01.000Z', updatedAt: '2026-11-18T07:00:02.000Z' }],
    });
    const csv = await almanac(['subscribers', 'export'], env);
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^email,name,editions,status,consent_source,/);
    expect(csv.stdout).toContain('forget.me@example.com,Forget Me,midweek,active,import');
    expect(csv.stdout).toContain('2026-11-18-midweek sent 2026-11-18T07:00:02.000Z');

    const removed = await almanac(['subscribers', 'remove', 'Forget.Me@Example.com'], env);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('erased subscriber');
    expect(removed.stdout).toContain('anonymised the address in 1 delivery record');
    expect(removed.stdout).toContain('never be mailed again');

    for (const path of [env.ALMANAC_DB, `${env.ALMANAC_DB}-wal`]) {
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path).toString('latin1').toLowerCase();
      expect(bytes.includes('forget.me@example.com'), path).toBe(false);
      expect(bytes.includes('forget me'), path).toBe(false);
    }
    const after = openDb(env.ALMANAC_DB);
    expect(after.prepare('SELECT email, last_reply FROM deliveries').all()).toEqual([{ email: 'erased', last_reply: '250 2.0.0 OK queued for <erased>' }]);
    expect(after.prepare('SELECT reason FROM suppressions WHERE email_hash = ?').get(hashEmail('forget.me@example.com'))).toEqual({ reason: 'erased' });
    after.close();
    const reexport = await almanac(['subscribers', 'export', '--format', 'json'], env);
    expect(reexport.stdout).not.toContain('forget.me');
    expect(reexport.stdout).toContain('keep@example.com');

    const reimport = await almanac(['subscribers', 'import', file], env);
    expect(reimport.stdout).toContain(`${file}:2: forget.me@example.com is suppressed`);
    expect(reimport.stdout).toContain('0 added, 1 already present (unchanged), 1 suppressed');
  });
});
