// What an ALMANAC_DB value names. No imports: src/config.ts validates with these.

/** True for the `ALMANAC_DB` values that select PostgreSQL: `postgres://…` and `postgresql://…`. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target.trim());
}

/** Query parameters that carry a password (node-postgres and libpq read `?password=` like the user-info part). */
const SECRET_PARAM = /pass|secret|token/i;

/** A database URL with its password replaced by `***`, in the user-info part or as `?password=` (anything that is not a URL is returned as is). */
export function redactUrl(target: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return target;
  try {
    const url = new URL(target);
    if (url.password) url.password = '***';
    // Rewritten by hand, not through searchParams (which would re-encode every other parameter).
    if (url.search) url.search = url.search.replace(/([?&;])([^=&;]*)=([^&;]*)/g, (m, sep: string, name: string, value: string) => (value && SECRET_PARAM.test(decodeName(name)) ? `${sep}${name}=***` : m));
    return url.toString();
  } catch {
    // Never echo an unparsable URL: it may hold a password we cannot locate.
    return `${target.slice(0, target.indexOf('://') + 3)}(unparsable URL)`;
  }
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
