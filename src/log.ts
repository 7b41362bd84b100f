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
    stream.write(`${line}\n`);
  };
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
