/**
 * What one bounce message, one SMTP client and one mailbox check may cost (see the README's
 * "Bounces and complaints after delivery" section). A bounce needs its headers and its report part;
 * a DSN that returns a whole edition (about 50 KB) fits many times over.
 */

/** Largest message taken by the listener, `bounces ingest` and `bounces fetch`. @default 512 KiB */
export const MAX_BOUNCE_BYTES = 512 * 1024;

/** VERP tags of one message that are looked at (the envelope's first, then the text's); the rest are never read. @default 4 */
export const MAX_TAGS_PER_MESSAGE = 4;

/** Envelope recipients (RCPT TO) the listener takes per message; more get 452. @default 10 */
export const MAX_RECIPIENTS = 10;

/** Messages the listener parses and applies at once; the others wait their turn. @default 4 */
export const PARSE_CONCURRENCY = 4;

/** SMTP sessions the listener holds at once, all clients together. @default 100 */
export const MAX_CLIENTS = 100;

/** SMTP sessions one client address may hold at once; another gets 421. @default 5 */
export const MAX_SESSIONS_PER_CLIENT = 5;

/** How long one SMTP session may last, however busy; then 421 and the connection is closed. @default 5 minutes */
export const MAX_SESSION_MS = 5 * 60_000;

/** How long an SMTP client may stay silent while it owes us a command or data. @default 60 s */
export const IDLE_TIMEOUT_MS = 60_000;
