import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { almanac } from './cli.ts';
import { tempDir } from './helpers.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

test('the database, its -wal and -shm files are created owner-only, in a directory others cannot list', async () => {
  const root = tempDir('almanac-perm-');
  chmodSync(root, 0o755);
  const dbPath = join(root, 'data', 'nested', 'almanac.db');
  // umask 0022 is the usual default, under which files used to come out world-readable (0644).
  const previous = process.umask(0o022);
  try {
    // `subscribers add` opens the database and writes to it; run it as an operator would.
    const result = await almanac(['subscribers', 'add', 'reader@example.org', '--name', 'Reader'], { ALMANAC_DB: dbPath });
    expect(result.code, result.stderr).toBe(0);
  } finally {
    process.umask(previous);
  }
  expect(mode(dbPath).toString(8)).toBe('600');
  for (const dir of [join(root, 'data'), join(root, 'data', 'nested')]) expect(mode(dir).toString(8)).toBe('700');
  // The root existed before: Almanac leaves its mode alone.
  expect(mode(root).toString(8)).toBe('755');
});

test('the -wal and -shm files of a running database are owner-only', async () => {
  const dir = tempDir('almanac-perm-');
  const dbPath = join(dir, 'almanac.db');
  const previous = process.umask(0o022);
  try {
    // Open in this process and keep it open, so the -wal and -shm files exist while we look.
    const { openStore } = await import('../src/store/open.ts');
    const store = await openStore(dbPath);
    try {
      await store.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute();
      for (const suffix of ['', '-wal', '-shm']) {
        expect(existsSync(dbPath + suffix), suffix).toBe(true);
        expect(mode(dbPath + suffix).toString(8), suffix).toBe('600');
      }
    } finally {
      await store.close();
    }
  } finally {
    process.umask(previous);
  }
});

test('an existing database keeps the mode its owner gave it', async () => {
  const dir = tempDir('almanac-perm-');
  const dbPath = join(dir, 'almanac.db');
  writeFileSync(dbPath, '');
  chmodSync(dbPath, 0o640);
  const result = await almanac(['subscribers', 'list'], { ALMANAC_DB: dbPath });
  expect(result.code, result.stderr).toBe(0);
  expect(mode(dbPath).toString(8)).toBe('640');
});
