/**
 * The benches' databases: a store opened for one step and closed after it, fresh PostgreSQL
 * databases created for a run, and row counts to check what a run left.
 */
import pg from 'pg';
import type { Store } from '../../src/store/handle.ts';
import { openStore } from '../../src/store/open.ts';
import type { Database } from '../../src/store/schema.ts';

/** Opens the store at `target` (a SQLite path or a PostgreSQL URL), runs `fn` with it, and closes it. */
export async function withStore<T>(target: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(target);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A fresh empty database in the PostgreSQL server of `url` (the URL's user needs CREATEDB); `drop()` removes it. */
export async function freshPostgres(url: string, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `almanac_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** The number of rows in `table`. */
export async function countRows(store: Store, table: keyof Database): Promise<number> {
  const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
