/**
 * Keeps secrets out of everything Almanac prints: configuration errors, log lines, error messages
 * and their causes, /healthz. Two layers:
 * - shapes that are secret wherever they appear: the password of a URL, in its user-info part
 *   (`smtp://mailer:***@host`) or as a query parameter (`postgres://u@host/db?password=***`), and a
 *   PEM private key block;
 * - values registered as secret (config.ts registers ALMANAC_SECRET, DKIM keys, URL passwords and
 *   any variable whose name says SECRET, KEY, PASS, TOKEN or AUTH), replaced wherever they appear.
 */

const MASK = '***';

/** Registered secret values, longest first when replacing (so a secret containing another is masked whole). */
const secrets = new Set<string>();

/** Values shorter than this are not registered: masking every "ab" in a log line would garble it and protect nothing. */
const MIN_SECRET_LENGTH = 4;

/** Names of environment variables whose whole value is a secret. */
const SECRET_NAME = /SECRET|PRIVATE_KEY|SIGNING_KEY|PASSWORD|PASS\b|TOKEN|_AUTH\b|API_KEY/i;

/** Whether a variable's value is a secret as a whole (never echoed, not even in part). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Remembers a value to mask from now on (with its percent-encoded and -decoded forms). */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  secrets.add(value);
  const encoded = encodeURIComponent(value);
  if (encoded !== value) secrets.add(encoded);
  try {
    const decoded = decodeURIComponent(value);
    if (decoded !== value && decoded.length >= MIN_SECRET_LENGTH) secrets.add(decoded);
  } catch {
    // not percent-encoded: nothing more to add
  }
  // A PEM key may be printed line by line (or re-wrapped): its base64 lines are secret too.
  if (value.includes('-----BEGIN')) {
    for (const line of value.split(/\r?\n/)) {
      const body = line.trim();
      if (body.length >= 16 && !body.startsWith('-----')) secrets.add(body);
    }
  }
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
}

// scheme://user:password@host: the password is everything between the first ':' after the user
// and the LAST '@' before the next white space, so `smtp://mailer:ab/cd@host` (an unencoded '/')
// and `smtp://u:p@ss@host` are masked whole.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@'"]*):([^\s'"]*)@(?=[^\s@'"]*(?:[\s'"]|$))/gi;
// ?password=… (and sslpassword, passwd, a token or secret): libpq and node-postgres read a password
// from the query too, so `postgres://u@host/db?password=x` is as secret as `postgres://u:x@host/db`.
const QUERY_SECRET = /([?&;][^\s=&#'"?]*(?:pass|secret|token)[^\s=&#'"?]*=)([^\s&#'"]*)/gi;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

/** The URL with its password replaced: `smtp://mailer:***@host:587`, `postgres://u@h/db?password=***`. Anything else comes back as it was. */
export function redactUrl(url: string): string {
  return url
    .replace(URL_PASSWORD, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(QUERY_SECRET, (_m, name: string, value: string) => (value ? `${name}${MASK}` : name));
}

/** The text with URL passwords, private keys and registered secrets masked. */
export function redact(text: string): string {
  let out = redactUrl(text).replace(PEM_PRIVATE_KEY, (_m, kind: string) => `[${kind}PRIVATE KEY not shown]`);
  if (secrets.size === 0) return out;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.replaceAll(secret, MASK);
  }
  return out;
}

/** Registers the secret parts of an environment value: the whole value for a secret name, else a URL's password. */
export function registerSecretsOf(name: string, value: string | undefined): void {
  if (value === undefined) return;
  if (isSecretName(name)) registerSecret(value);
  for (const m of value.matchAll(URL_PASSWORD)) registerSecret(m[3]);
  for (const m of value.matchAll(QUERY_SECRET)) registerSecret(m[2]);
}

/** How a rejected value is shown in an error: masked whole for a secret name (only its length), else with passwords masked. */
export function describeValue(name: string, value: string): string {
  if (isSecretName(name)) return `a value of ${value.length} character${value.length === 1 ? '' : 's'} (not shown)`;
  return JSON.stringify(redact(value));
}
