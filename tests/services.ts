import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The system services some tests drive (Debian packages), whether this machine has them, and the
 * reason their cases are skipped when it does not. The reasons are printed once by the global setup
 * (tests/global-setup.ts) and carried in the skipped blocks' names.
 */
export type Service = 'postgresql' | 'dovecot' | 'chromium';

/** Debian dovecot-imapd's server binary. */
export const DOVECOT_BIN = '/usr/sbin/dovecot';
/** Debian chromium's browser binary. */
export const CHROMIUM_BIN = '/usr/bin/chromium';
const POSTGRES_ROOT = '/usr/lib/postgresql';

/** What each service is called and the Debian package that brings it. */
const SERVICES: Record<Service, { name: string; install: string; used: string }> = {
  postgresql: { name: 'PostgreSQL', install: 'apt-get install postgresql', used: 'the PostgreSQL cases of the store, send, bounce and web tests' },
  dovecot: { name: 'Dovecot', install: 'apt-get install dovecot-imapd', used: 'the IMAP bounce tests (bounces fetch)' },
  chromium: { name: 'Chromium', install: 'apt-get install chromium', used: 'the layout tests and the preview server test' },
};

/**
 * ALMANAC_TEST_WITHOUT=dovecot,chromium,postgresql (a test hook): treat these services as missing,
 * to see what a machine without them runs and skips (tests/services.test.ts does).
 */
export function pretendedMissing(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env.ALMANAC_TEST_WITHOUT ?? '').split(/[\s,]+/).filter(Boolean));
}

/** The bin directory of the newest Debian PostgreSQL installed (`/usr/lib/postgresql/<version>/bin`), if any. */
export function postgresBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (pretendedMissing(env).has('postgresql')) return undefined;
  let versions: string[];
  try {
    versions = readdirSync(POSTGRES_ROOT).filter((v) => /^\d+$/.test(v) && existsSync(join(POSTGRES_ROOT, v, 'bin', 'initdb')));
  } catch {
    return undefined;
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(POSTGRES_ROOT, newest, 'bin') : undefined;
}

/** Why `service` is missing here; undefined when it is there. */
function missing(service: Service, env: NodeJS.ProcessEnv): string | undefined {
  const s = SERVICES[service];
  const pretended = pretendedMissing(env).has(service);
  const note = pretended ? ', treated as missing by ALMANAC_TEST_WITHOUT' : '';
  if (service === 'postgresql') {
    if (env.ALMANAC_TEST_PG_URL && !pretended) return undefined;
    // With Debian's PostgreSQL installed, the global setup starts a server and sets ALMANAC_TEST_PG_URL.
    return `no PostgreSQL: ALMANAC_TEST_PG_URL is not set and Debian's PostgreSQL is not installed (${s.install})${note}`;
  }
  const bin = service === 'dovecot' ? DOVECOT_BIN : CHROMIUM_BIN;
  if (existsSync(bin) && !pretended) return undefined;
  return `${s.name} is not installed (${bin}; ${s.install})${note}`;
}

/** Why the cases needing `service` are skipped here ("skipped: …"); undefined when they run. */
export function skipReason(service: Service, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const why = missing(service, env);
  return why && `skipped: ${why}`;
}

/** `title`, with the skip reason after it when the block is skipped. */
export function titled(title: string, reason: string | undefined): string {
  return reason ? `${title} (${reason})` : title;
}

/** One line per missing service: what is skipped and why (the global setup prints them at the start and the end). */
export function skipLines(verb: 'skipping' | 'skipped', env: NodeJS.ProcessEnv = process.env): string[] {
  return (Object.keys(SERVICES) as Service[]).flatMap((service) => {
    const why = missing(service, env);
    return why ? [`${verb} ${SERVICES[service].used}: ${why}`] : [];
  });
}
