// What an ALMANAC_DB value names. No imports: src/config.ts validates with these.

/** True for the `ALMANAC_DB` values that select PostgreSQL: `postgres://…` and `postgresql://…`. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target.trim());
}

/** A database URL with its password replaced by `***` (anything that is not a URL is returned as is). */
export function redactUrl(target: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return target;
  try {
    const url = new URL(target);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    // Never echo an unparsable URL: it may hold a password we cannot locate.
    return `${target.slice(0, target.indexOf('://') + 3)}(unparsable URL)`;
  }
}
