import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { expect, test } from 'vitest';
import type { DialectName, Store } from '../src/store/handle.ts';
import { hashEmail } from '../src/subscribers/email.ts';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';
import { describeEachDb, freshTarget, openTracked } from './store-db.ts';

async function setupOn(dialect: DialectName) {
  const dir = tempDir();
  const env = { ALMANAC_DB: await freshTarget(dialect), ALMANAC_SECRET: 'cli-test-secret-long-enough' };
  return { dir, env };
}

/** Every table and column of the database whose text contains `needle` (case-insensitive), as `table.column`. */
async function tablesHolding(store: Store, needle: string): Promise<string[]> {
  const columns =
    store.dialect === 'sqlite'
      ? (
          await sql<{ t: string; c: string }>`SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`.execute(store.db)
        ).rows
      : (
          await sql<{ t: string; c: string }>`SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()`.execute(
            store.db,
          )
        ).rows;
  const found: string[] = [];
  for (const { t, c } of columns) {
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(t)} WHERE lower(CAST(${sql.id(c)} AS TEXT)) LIKE ${`%${needle.toLowerCase()}%`}`.execute(
      store.db,
    );
    if (Number(rows[0]!.n) > 0) found.push(`${t}.${c}`);
  }
  return found.sort();
}

describeEachDb('almanac subscribers (child process)', (dialect) => {
  const setup = () => setupOn(dialect);
  test('import adds good rows, reports each bad row by line with exit 1, and is idempotent', async () => {
    const { dir, env } = await setup();
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
    const { env } = await setup();
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
    const { dir, env } = await setup();
    const file = join(dir, 'one.csv');
    writeFileSync(file, 'email,name,editions\nforget.me@example.com,Forget Me,midweek\nkeep@example.com,Keep,sunday\n');
    expect((await almanac(['subscribers', 'import', file], env)).code).toBe(0);

    // A delivery history, as the sender writes it, including an SMTP reply that quotes the address.
    const db = await openTracked(env.ALMANAC_DB);
    const { id } = await db.db.selectFrom('subscribers').select('id').where('email', '=', 'forget.me@example.com').executeTakeFirstOrThrow();
    await db.db
      .insertInto('deliveries')
      .values({
        edition_id: '2026-11-18-midweek',
        subscriber_id: id,
        email: 'forget.me@example.com',
        state: 'sent',
        attempts: 1,
        last_reply: '250 2.0.0 OK queued for <Forget.Me@example.com>',
        message_id: '<m1@almanac.example>',
        created_at: '2026-11-18T07:00:01.000Z',
        updated_at: '2026-11-18T07:00:02.000Z',
      })
      .execute();
    expect(await tablesHolding(db, 'forget.me@example.com')).toEqual(['deliveries.email', 'deliveries.last_reply', 'subscribers.email']);
    await db.close();

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

    // No table holds the address or the name any more (PostgreSQL's dead row versions are VACUUM's to reclaim).
    const after = await openTracked(env.ALMANAC_DB);
    expect(await tablesHolding(after, 'forget.me@example.com')).toEqual([]);
    expect(await tablesHolding(after, 'forget me')).toEqual([]);
    // On SQLite, not even the file's bytes (secure_delete, and the WAL checkpointed and truncated).
    for (const path of dialect === 'sqlite' ? [env.ALMANAC_DB, `${env.ALMANAC_DB}-wal`] : []) {
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path).toString('latin1').toLowerCase();
      expect(bytes.includes('forget.me@example.com'), path).toBe(false);
      expect(bytes.includes('forget me'), path).toBe(false);
    }
    expect(await after.db.selectFrom('deliveries').select(['email', 'last_reply']).execute()).toEqual([{ email: 'erased', last_reply: '250 2.0.0 OK queued for <erased>' }]);
    expect(await after.db.selectFrom('suppressions').select('reason').where('email_hash', '=', hashEmail('forget.me@example.com')).execute()).toEqual([
      { reason: 'erased' },
    ]);
    await after.close();
    const reexport = await almanac(['subscribers', 'export', '--format', 'json'], env);
    expect(reexport.stdout).not.toContain('forget.me');
    expect(reexport.stdout).toContain('keep@example.com');

    const reimport = await almanac(['subscribers', 'import', file], env);
    expect(reimport.stdout).toContain(`${file}:2: forget.me@example.com is suppressed`);
    expect(reimport.stdout).toContain('0 added, 1 already present (unchanged), 1 suppressed');
  });
});

test('an unreachable PostgreSQL: every subscribers action says so in one line naming ALMANAC_DB, never the password, exit 2', async () => {
  for (const args of [['list'], ['add', 'a@example.org'], ['export'], ['remove', 'a@example.org']]) {
    const result = await almanac(['subscribers', ...args], { ALMANAC_DB: 'postgres://almanac:pw-s3cret-77@127.0.0.1:1/almanac' });
    expect(result.code, args.join(' ')).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain('ALMANAC_DB: cannot connect to PostgreSQL at postgres://almanac:***@127.0.0.1:1/almanac: connect ECONNREFUSED');
    expect(result.stderr + result.stdout).not.toContain('pw-s3cret-77');
  }
});
