import { redact } from './redact.ts';

/** One log event: a name and flat fields; written as one JSON line. */
export type Logger = (event: string, fields?: Record<string, unknown>) => void;

/**
 * A JSON-lines logger: `{"time":"…","level":"info","event":"send.finished","edition":"2026-11-25-midweek",…}`.
 * Operators grep by `event` or `edition`; errors go out with level "error".
 */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr, clock: () => Date = () => new Date()): Logger {
  return (event, fields = {}) => {
    const level = typeof fields.level === 'string' ? fields.level : 'info';
    const { level: _, ...rest } = fields;
    // Masked value by value (before JSON escaping, which would hide a secret holding `"` or `\`).
    const line = JSON.stringify({ time: clock().toISOString(), level, event, ...rest }, (_key, value: unknown) =>
      typeof value === 'string' ? redact(value) : value instanceof Error ? errorText(value) : value,
    );
    // JSON escapes \n and \r but leaves U+2028, U+2029 and U+0085 as they are, which some viewers break lines at.
    stream.write(`${line.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`);
  };
}

/**
 * Text for one plain-text log line: line breaks and other control characters (from a webhook's
 * field, a bounce's subject) are shown escaped (`\n`, `\u2028`), so a value can never start a line
 * of its own that a reader or a log collector would take for a real entry.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A logger that keeps events in memory (for tests and health reports). */
export function memoryLogger(): Logger & { events: { event: string; fields: Record<string, unknown> }[] } {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const log = ((event: string, fields: Record<string, unknown> = {}) => {
    events.push({ event, fields });
  }) as Logger & { events: typeof events };
  log.events = events;
  return log;
}

/** An error and its causes on one line: `cannot send x: caused by: ECONNREFUSED`, secrets masked (src/redact.ts). */
export function errorText(error: unknown, separator = ': caused by: '): string {
  const parts: string[] = [];
  for (let e: unknown = error; e; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return redact(parts.join(separator));
}
