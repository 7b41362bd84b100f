import { Writable } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { main, parseBounceBenchArgs } from '../scripts/bench-bounces.ts';
import { cleanUp, freshTarget, openTracked, PG_SKIP_REASON, PG_URL } from './store-db.ts';

afterEach(cleanUp);

describe('npm run bench:bounces (smoke: no timing thresholds)', () => {
  test('every bounce of the storm is applied in one ingest run', async () => {
    let text = '';
    const out = new Writable({ write: (c: Buffer, _e, cb) => ((text += c.toString()), cb()) });
    const result = await main(['--messages', '60'], out);
    expect(result).toMatchObject({ messages: 60, bounced: 60, exit_code: 0 });
    expect(result.messages_per_s).toBeGreaterThan(0);
    expect(JSON.parse(text.trim().split('\n').at(-1)!)).toMatchObject({ messages: 60, bounced: 60 });
  }, 120_000);

  test('arguments', () => {
    expect(parseBounceBenchArgs([])).toEqual({ messages: 10_000 });
    expect(() => parseBounceBenchArgs(['--messages', 'lots'])).toThrow('--messages: expected an integer >= 1, found "lots"');
    expect(parseBounceBenchArgs(['--db', 'postgres://u@h/db', '--messages', '5'])).toEqual({ messages: 5, db: 'postgres://u@h/db' });
    expect(() => parseBounceBenchArgs(['--db', '/tmp/x.db'])).toThrow('--db: expected a postgres:// or postgresql:// URL, found "/tmp/x.db"');
  });

  test.skipIf(!PG_URL)(`--db postgres://…: the same storm on PostgreSQL, the database left empty again${PG_URL ? '' : ` (${PG_SKIP_REASON})`}`, async () => {
    const target = await freshTarget('postgres');
    const result = await main(['--messages', '40', '--db', target], new Writable({ write: (_c, _e, cb) => cb() }));
    expect(result).toMatchObject({ messages: 40, db: 'postgres', bounced: 40, exit_code: 0 });
    const store = await openTracked(target);
    expect(await store.db.selectFrom('subscribers').selectAll().execute()).toEqual([]);
    expect(await store.db.selectFrom('deliveries').selectAll().execute()).toEqual([]);
    // A database that is not empty is refused, and left as it was.
    await store.db.insertInto('suppressions').values({ email_hash: 'x', reason: 'erased', created_at: new Date().toISOString() }).execute();
    await expect(main(['--messages', '5', '--db', target], new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toThrow(/is not empty \(table suppressions has 1 rows\)/);
    expect(await store.db.selectFrom('suppressions').select('email_hash').execute()).toEqual([{ email_hash: 'x' }]);
  }, 120_000);
});
