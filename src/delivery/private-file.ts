import { renameSync, writeFileSync } from 'node:fs';

/** Files with personal data (outbox copies, previews: addresses and personal links) are the owner's only. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes `data` to `file` readable by its owner only (0600), through a temporary file renamed into
 * place: a crash never leaves half a file, and an older file's wider mode is not kept.
 */
export function writePrivateFile(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: PRIVATE_FILE_MODE });
  renameSync(tmp, file);
}
