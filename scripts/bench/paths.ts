/** Where the benches find the checkout, the shipped content and the SMTP sink. */
import { join, resolve } from 'node:path';

/** The checkout's root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
/** The shipped content (the bench's edition is composed from it). */
export const CONTENT_DIR = join(ROOT, 'content');
/** The discarding SMTP server, run as a process of its own. */
export const SINK_SCRIPT = join(ROOT, 'scripts', 'bench', 'smtp-sink.ts');
