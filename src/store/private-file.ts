import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Makes a new SQLite database private before SQLite opens it: it holds personal data, so a
 * directory made for it is 0700 and a new file 0600 (SQLite gives its -wal and -shm files the
 * database file's mode). An existing file keeps the mode its owner gave it.
 */
export function createPrivately(path: string): void {
  if (path === ':memory:') return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) return;
  // An empty file is a valid new database for SQLite; 'a' never truncates one created meanwhile.
  closeSync(openSync(path, 'a', 0o600));
}
